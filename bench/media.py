"""The largest number of concurrent self-answered calls carrying two-way G.711 RTP (null audio
device, 20 ms frames both ways) that an embedded fleet on this machine holds for a given time
with RTP loss under 0.5%, and the CPU each call costs. Prints figures; asserts nothing.

    python bench/media.py [--seconds 60] [--steps 32,64,100,150,200]
"""

from __future__ import annotations

import argparse
import math
import os
import time

from coordinator.client import Lib

LOSS_LIMIT_PCT = 0.5


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def step(calls: int, seconds: float, agent_args: list[str]) -> tuple[bool, str]:
    agents = max(1, math.ceil(calls / 2))  # each agent places 2 calls and answers 2
    lib = Lib.start_local(agents=agents, timeout=120, agent_args=agent_args)
    try:
        assert lib.fleet is not None
        pids = [p.pid for p in lib.fleet.agents]
        if lib.fleet.coordinator is not None:
            pids.append(lib.fleet.coordinator.pid)
        ramp = max(2.0, calls / 20)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        r = lib.run_load({"rate": calls / ramp, "calls": calls, "hold": str(seconds),
                          "self": True}, timeout=seconds + ramp + 120)
        cpu = cpu_seconds(pids) - cpu0
        wall = time.monotonic() - t0
    finally:
        lib.destroy()
    m = r["media"]
    peak = max((row["active"] for row in r["timeseries"]), default=0) // 2
    ok = (r["answered"] == calls and r["failed"] == 0 and m["calls_measured"] == calls
          and m["loss_pct"] < LOSS_LIMIT_PCT)
    per_call = 100 * cpu / wall / max(1, calls)
    return ok, (f"{calls:4d} calls on {agents:3d} agents ({len(r['agents'])} in the run): "
                f"attempted {r['attempted']}, answered {r['answered']}, failed "
                f"{r['failed_by_code'] or 0}, waited {r['delayed_for_capacity']}, peak up "
                f"{peak}, RTP {m['rtp_packets']} pkts, loss {m['loss_pct']:.3f}% (per-call p99 "
                f"{m['loss_pct_per_call']['p99']:.2f}%), jitter p95 {m['jitter_ms']['p95']:.2f} ms, "
                f"MOS p5 {m['mos']['p5']:.2f}; CPU {100 * cpu / wall:.0f}% of a core = "
                f"{per_call:.2f}% per call")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="hold time of every call")
    ap.add_argument("--steps", default="32,64,100,150,200", help="concurrent calls to try")
    ap.add_argument("--agent-args", default="", help="extra agent options, e.g. '--clock-rate "
                    "16000'")
    args = ap.parse_args()
    best = 0
    print(f"two-way G.711 RTP for {args.seconds:g} s per call, loss limit {LOSS_LIMIT_PCT}%, "
          f"{os.cpu_count()} cores")
    for calls in (int(x) for x in args.steps.split(",")):
        ok, line = step(calls, args.seconds, args.agent_args.split())
        print(("  ok    " if ok else "  FAIL  ") + line, flush=True)
        if not ok:
            break
        best = calls
    print(f"largest concurrent call count held with loss < {LOSS_LIMIT_PCT}%: {best}")


if __name__ == "__main__":
    main()
