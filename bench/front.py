"""Calls per second the fleet takes with 0 failures through its SIP front (`callfleet front`:
Kamailio's dispatcher) and aimed directly at the agents' own addresses, in one run, and what
the front costs.

One embedded fleet answers ``sip:bob`` on every agent (an account with replicas="all",
auto-answered 200; agents --audio none: signalling only, as bench/cps.py). SIPp's uac flow
(-d 0: hang up at once) calls it at a rate for a few seconds, either at the front or, with the
scenario bench/scenarios/uac_direct.xml, at each agent in turn (the -inf file lists their
addresses). A rate "holds" when no call fails and 95% of it is achieved (two tries); the
ladder and bisection are bench/cps.py's. The front's CPU is Kamailio's processes' (all of its
session), as a share of one core, at each step. Prints figures and the ratio; asserts nothing.

    python bench/front.py [--agents 8] [--seconds 4] [--max-rate 1000]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cps import search  # bench/ is the script's directory: the same ladder as bench/cps.py

from coordinator.client import Error, Lib
from proto import sip_addresses

SCENARIO = Path(__file__).with_name("scenarios") / "uac_direct.xml"
TICKS = os.sysconf("SC_CLK_TCK")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def session_cpu(leader: int) -> float:
    """CPU seconds of every process in ``leader``'s session (Kamailio and its workers)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == leader:  # the session id
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


class Path_:
    """One way to reach the fleet: SIPp's arguments for it, and a CPU probe."""

    def __init__(self, name: str, args: list[str], probe: int | None) -> None:
        self.name, self.args, self.probe = name, args, probe
        self.cpu: dict[float, float] = {}


def drained(lib: Lib, timeout: float = 3.0) -> str:
    """Wait until the fleet holds no call; a call a failed step left up (SIPp gave up on it
    without a BYE) is hung up by the account's owner, this client. '' or what was hung up."""
    deadline = time.monotonic() + timeout
    while lib.status()["calls"] and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [c for c in list(lib.session.calls.values()) if c.is_valid()]
    for call in left:
        try:
            call.hangup()
        except Error:
            pass  # it ended meanwhile
    deadline = time.monotonic() + 10
    while lib.status()["calls"] and time.monotonic() < deadline:
        time.sleep(0.2)
    return f" ({len(left)} calls SIPp left up, hung up before)" if left else ""


def step(path: Path_, rate: float, seconds: float, workdir: Path, lib: Lib
         ) -> tuple[bool, float, str]:
    left = drained(lib)
    calls = int(rate * seconds)
    cpu0 = session_cpu(path.probe) if path.probe else 0.0
    t0 = time.monotonic()
    p = subprocess.run(["sipp", *path.args, "-r", str(int(rate)), "-m", str(calls), "-d", "0",
                        "-nostdin", "-i", "127.0.0.1", "-timeout", str(int(seconds * 3 + 10)),
                        "-timeout_error", "-trace_err", "-error_file", str(workdir / "errors.log")],
                       cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    share = ""
    if path.probe:
        path.cpu[rate] = (session_cpu(path.probe) - cpu0) / wall * 100
        share = f", front {path.cpu[rate]:.1f}% of a core"
    achieved = calls / max(wall - 0.2, 1e-6)
    ok = p.returncode == 0 and wall <= seconds / 0.95 + 1.0
    if p.returncode != 0:
        share += f", {first_error(workdir / 'errors.log')}"
    return ok, min(achieved, rate), f"exit {p.returncode} wall {wall:.1f}s{share}{left}"


def first_error(log: Path) -> str:
    """What SIPp said of its first failed call (its error file, removed after)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "no SIPp error file"
    log.unlink()
    m = re.search(r"while expecting '(\w+)'.*?received '(SIP/2\.0 \d+[^\r\n']*)", text, re.S)
    if m:
        return f"first failure: {m.group(2)[8:]} where {m.group(1)} was expected"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return f"first failure: {lines[0][-100:]}" if lines else "no error logged"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--max-rate", type=float, default=1000)
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-front-"))
    lib = Lib.start_local(agents=args.agents, agent_args=["--audio", "none"])
    front = None
    try:
        lib.create_account("sip:bob@127.0.0.1", auto_answer=200, replicas="all")
        port = free_udp_port()
        front = subprocess.Popen([sys.executable, "-m", "coordinator.cli", "front", "--listen",
                                  f"127.0.0.1:{port}", "--coordinator", lib.url, "--dir",
                                  str(workdir / "front")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL)
        listed = workdir / "front" / "dispatcher.list"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
                listed.exists() and listed.read_text().count("duid=") == args.agents
                and (workdir / "front" / "kamailio.pid").exists()):
            time.sleep(0.1)
        kamailio = int((workdir / "front" / "kamailio.pid").read_text())
        agents = [sip_addresses.find(a["sip"], "udp") for a in lib.agents()]
        inf = workdir / "agents.csv"
        inf.write_text("SEQUENTIAL\n" + "".join(f"{a.host};{a.port};\n" for a in agents if a))
        via = Path_("through the front", [f"127.0.0.1:{port}", "-sn", "uac", "-s", "bob"],
                    kamailio)
        direct = Path_("direct to agents", ["127.0.0.1:5060", "-sf", str(SCENARIO), "-inf",
                                            str(inf)], None)
        print(f"{args.agents} agents (signalling only), {args.seconds:g} s per step, short calls",
              flush=True)
        best = {p.name: search(p.name, lambda r, p=p: step(p, r, args.seconds, workdir, lib),
                               args.max_rate) for p in (via, direct)}
        b_via, b_direct = best[via.name], best[direct.name]
        print(f"\nthrough the front  {b_via:7.1f} calls/s")
        print(f"direct to agents   {b_direct:7.1f} calls/s")
        if b_direct:
            print(f"front/direct = {b_via / b_direct:.2f}x")
        held = [r for r in via.cpu if r <= b_via]
        if held:
            r = max(held)
            print(f"the front (Kamailio) at {r:g} calls/s: {via.cpu[r]:.1f}% of a core "
                  f"({via.cpu[r] / r * 10:.3f} ms of CPU per call)")
    finally:
        if front is not None:
            front.terminate()
            front.wait(20)
        lib.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
