"""Health soak: short zero-hold calls from SIPp through every agent for a long while, and what the
agents hold meanwhile. A benchmark: it prints figures, asserts nothing. Not run in CI.

Starts an embedded fleet (``--agents``, ``--audio null`` or ``none``) with one auto-answering
account on every agent, and one SIPp UAC per agent calling that agent's address at
``--rate`` calls/s in all (``-d 0``: each call is hung up as soon as it is answered, the case
that leaked a conference bridge port per call in pjproject 2.15.1). Once a minute it prints each
agent's bridge ports, leaked ports, sockets, descriptors and resident memory (the figures of
its heartbeat, as ``callfleet status`` shows them), SIPp's totals, and at the end each figure's
first, last and largest value per agent.

    python bench/health_soak.py [--minutes 30] [--agents 4] [--rate 40] [--audio none]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from coordinator.client import Lib

FIGURES = ("bridge_used", "bridge_leaked", "sockets", "fds", "rss_kb")


def sipp_totals(workdir: Path) -> tuple[int, int]:
    """(successful, failed) calls over every SIPp's latest statistics row."""
    ok = failed = 0
    for stat in workdir.glob("*/*_.csv"):
        with open(stat, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
        if len(rows) > 1:
            last = dict(zip(rows[0], rows[-1], strict=False))
            ok += int(last.get("SuccessfulCall(C)", 0) or 0)
            failed += int(last.get("FailedCall(C)", 0) or 0)
    return ok, failed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--rate", type=float, default=40.0, help="calls per second over the fleet")
    p.add_argument("--audio", choices=("null", "none"), default="none")
    args = p.parse_args()
    sipp = shutil.which("sipp")
    if sipp is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    workdir = Path(tempfile.mkdtemp(prefix="callfleet-soak-"))
    lib = Lib.start_local(agents=args.agents, agent_args=["--audio", args.audio])
    procs: list[subprocess.Popen[bytes]] = []
    history: dict[str, list[dict[str, Any]]] = {}
    try:
        acc = lib.create_account("sip:svc@127.0.0.1", auto_answer=200, replicas="all")
        agents = {a["name"]: a for a in lib.agents()}
        per_agent = args.rate / len(agents)
        for name, agent in sorted(agents.items()):
            hostport = agent["sip"][0].split(":", 1)[1]
            (workdir / name).mkdir()
            procs.append(subprocess.Popen(
                [sipp, "-nostdin", "-i", "127.0.0.1", hostport, "-sn", "uac", "-s", "svc",
                 "-r", f"{per_agent:g}", "-l", "3", "-d", "0", "-trace_stat", "-fd", "5",
                 "-timeout", f"{args.minutes * 60:.0f}", "-timeout_error"],
                cwd=workdir / name, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        print(f"{args.agents} agents (--audio {args.audio}), account {acc.id} on every agent, "
              f"SIPp {args.rate:g} calls/s in all, zero-hold calls, {args.minutes:g} min")
        print(f"{'min':>4} {'agent':<16}" + "".join(f"{f:>14}" for f in FIGURES)
              + f"{'sipp ok':>10}{'failed':>8}")
        t0 = time.monotonic()
        minute = 0
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(max(0.0, t0 + (minute + 1) * 60 - time.monotonic()))
            minute += 1
            ok, failed = sipp_totals(workdir)
            for a in sorted(lib.agents(), key=lambda a: a["name"]):
                history.setdefault(a["name"], []).append(a)
                print(f"{minute:>4} {a['name']:<16}"
                      + "".join(f"{a.get(f, '-'):>14}" for f in FIGURES)
                      + f"{ok:>10}{failed:>8}", flush=True)
        print("\nper agent: first / last / largest")
        for name, rows in sorted(history.items()):
            cells = [f"{f} {rows[0].get(f)}/{rows[-1].get(f)}/{max(r.get(f, 0) for r in rows)}"
                     for f in FIGURES]
            pids = {r["pid"] for r in rows}
            print(f"  {name}: " + ", ".join(cells) + f"; pid {'unchanged' if len(pids) == 1 else pids}")
        ok, failed = sipp_totals(workdir)
        print(f"SIPp: {ok} calls answered, {failed} failed")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        lib.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
