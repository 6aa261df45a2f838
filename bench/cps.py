"""Highest sustained call rate (0 failures, short calls) on this machine, in one run, for:

  callfleet  load runs through the coordinator onto signalling-only agents (--audio none)
  raw        the same number of raw pjsua2 processes making the same calls, no coordinator
  sipp       SIPp uac -> SIPp uas (signalling only)

Every system calls the same SIPp uas and hangs up as soon as the call is answered. A rate
"holds" when no call fails and at least 95% of it is achieved, in one of two tries; past the
ladder's first rate that does not hold, two bisection steps refine the figure. Prints the
steps, the best figures and the ratios; asserts nothing.

    python bench/cps.py [--agents 8,16] [--seconds 4] [--max-rate 1200]
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from coordinator.client import Lib

#: bisection steps after the first rate that does not hold (the ladder's rungs are ~25% apart)
REFINE_STEPS = 2
#: tries of a rate before it counts as not held (every system gets the same)
TRIES = 2

RATES = [25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000]

RAW = r"""
import collections, json, sys, time
import pjsua2 as pj
rate, seconds, target = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ep = pj.Endpoint(); ep.libCreate()
c = pj.EpConfig(); c.uaConfig.threadCnt = 0; c.uaConfig.mainThreadOnly = True
c.logConfig.level = 0; c.logConfig.consoleLevel = 0
ep.libInit(c); t = pj.TransportConfig(); t.port = 0; t.boundAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, t); ep.libStart(); ep.audDevManager().setNoDev()
acc = pj.Account(); ac = pj.AccountConfig(); ac.idUri = "sip:raw@127.0.0.1"
ac.mediaConfig.transportConfig.boundAddress = "127.0.0.1"; acc.create(ac)
live = {}; stats = collections.Counter(); released = collections.deque(); sockets = collections.deque()
class C(pj.Call):
    def onCallState(self, prm):
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            stats["answered"] += 1
            try: self.hangup(pj.CallOpParam(True))
            except pj.Error: pass
        elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if ci.lastStatusCode >= 300 and not self.answered_ok(): stats["failed"] += 1
            now = time.monotonic(); released.append(now + 0.1); sockets.append(now + 0.6)
            live.pop(id(self), None)
    def answered_ok(self):
        return getattr(self, "_ok", False)
t0 = time.monotonic(); started = 0
while True:
    now = time.monotonic()
    if now - t0 >= seconds and not live: break
    if now - t0 > seconds + 10: break
    while released and released[0] <= now: released.popleft()
    while sockets and sockets[0] <= now: sockets.popleft()
    while (now - t0 < seconds and started < rate * (now - t0)
           and len(live) + len(released) < 4 and 48 - 2 * (len(live) + len(sockets)) >= 2):
        call = C(acc); live[id(call)] = call; started += 1
        try: call.makeCall(target, pj.CallOpParam(True))
        except pj.Error: live.pop(id(call), None); stats["failed"] += 1
    ep.libHandleEvents(2)
stats["started"] = started
print(json.dumps(dict(stats)), flush=True)
live.clear(); acc.shutdown(); del acc
ep.libDestroy()
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def holds(rate: float, started: int, failed: int, seconds: float) -> bool:
    return failed == 0 and started >= 0.95 * rate * seconds


def step_callfleet(agents: int, rate: float, seconds: float, target: str) -> tuple[bool, float, str]:
    """One step on a fresh embedded fleet, as the raw step starts fresh processes: a fleet kept
    from step to step would carry the earlier steps' ended transactions, whose timers (32 s on
    UDP) fire and clean up during the later steps."""
    lib = Lib.start_local(agents=agents, agent_args=["--audio", "none"])
    try:
        r = lib.run_load({"rate": rate, "duration": seconds, "hold": "0", "targets": [target]},
                         timeout=seconds + 60)
    finally:
        lib.destroy()
    achieved = r["attempted"] / seconds
    ok = holds(rate, r["attempted"], r["failed"], seconds)
    detail = f"failed {r['failed']} {r['failed_by_code'] or ''} waited {r['delayed_for_capacity']}"
    return ok, achieved, detail


def step_raw(procs: int, rate: float, seconds: float, target: str) -> tuple[bool, float, str]:
    ps = [subprocess.Popen([sys.executable, "-c", RAW, str(rate / procs), str(seconds), target],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
          for _ in range(procs)]
    total: dict[str, int] = {"started": 0, "answered": 0, "failed": 0}
    for p in ps:
        out, _ = p.communicate(timeout=seconds + 60)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        stats = json.loads(lines[-1]) if lines else {"failed": 1}
        for k in total:
            total[k] += int(stats.get(k, 0))
    ok = holds(rate, total["started"], total["failed"], seconds)
    return ok, total["started"] / seconds, f"failed {total['failed']}"


def step_sipp(rate: float, seconds: float, port: int, workdir: Path) -> tuple[bool, float, str]:
    calls = int(rate * seconds)
    t0 = time.monotonic()
    p = subprocess.run(["sipp", f"127.0.0.1:{port}", "-sn", "uac", "-r", str(int(rate)),
                        "-m", str(calls), "-d", "0", "-nostdin", "-i", "127.0.0.1",
                        "-timeout", str(int(seconds * 3 + 10)), "-timeout_error"],
                       cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    achieved = calls / max(wall - 0.2, 1e-6)
    ok = p.returncode == 0 and wall <= seconds / 0.95 + 1.0
    return ok, min(achieved, rate * 1.0), f"exit {p.returncode} wall {wall:.1f}s"


def search(name: str, step: Any, max_rate: float, refine: int = REFINE_STEPS) -> float:
    """Climb the RATES ladder to the first rate that does not hold, then bisect between it and
    the last one that held (``refine`` more steps), so that the figure is not just a rung."""
    best, good, bad = 0.0, 0.0, 0.0

    def attempt(rate: float) -> bool:
        nonlocal best
        for _ in range(TRIES):  # a 4 s step on 2 shared cores can miss once by chance
            ok, achieved, detail = step(rate)
            print(f"  {name:<22} {rate:6.0f}/s -> {achieved:7.1f}/s  {'ok' if ok else 'FAIL'}  "
                  f"{detail}", flush=True)
            if ok:
                best = max(best, achieved)
                return True
        return False

    for rate in RATES:
        if rate > max_rate:
            break
        if not attempt(rate):
            bad = rate
            break
        good = rate
    for _ in range(refine if good and bad else 0):
        mid = round((good + bad) / 2)
        if mid in (good, bad):
            break
        if attempt(mid):
            good = mid
        else:
            bad = mid
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", default="8,16", help="agent counts to try (comma separated)")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each step")
    ap.add_argument("--max-rate", type=float, default=2000)
    args = ap.parse_args()
    counts = [int(x) for x in args.agents.split(",")]
    workdir = Path("/tmp") / f"callfleet-cps-{time.time_ns()}"
    workdir.mkdir()
    port = free_port()
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-p", str(port), "-i", "127.0.0.1", "-nostdin"],
                           cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
    target = f"sip:service@127.0.0.1:{port}"
    results: dict[str, float] = {}
    try:
        time.sleep(0.5)
        for n in counts:
            results[f"callfleet {n} agents"] = search(
                f"callfleet x{n}", lambda r, n=n: step_callfleet(n, r, args.seconds, target),
                args.max_rate)
            results[f"raw pjsua2 {n} procs"] = search(
                f"raw pjsua2 x{n}", lambda r, n=n: step_raw(n, r, args.seconds, target), args.max_rate)
        results["sipp uac -> uas"] = search(
            "sipp uac", lambda r: step_sipp(r, args.seconds, port, workdir), args.max_rate)
    finally:
        uas.terminate()
        uas.wait(5)
    print("\nhighest sustained rate (0 failures, >= 95% of target):")
    for name, value in results.items():
        print(f"  {name:<26} {value:8.1f} calls/s")
    best_cf = max(v for k, v in results.items() if k.startswith("callfleet"))
    best_raw = max(v for k, v in results.items() if k.startswith("raw"))
    sipp = results["sipp uac -> uas"]
    print(f"ratios: callfleet/raw pjsua2 = {best_cf / max(best_raw, 1e-9):.2f}x, "
          f"callfleet/SIPp = {best_cf / max(sipp, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
