"""What a scenario's steps cost the agents, in one run: the same self-answered calls (hung up
as soon as answered, DTMF sent and checked, asked at a rate above what the fleet's slots hold,
so the calls/s reached is the fleet's) run with the built-in flow (the load options), with that
flow written out as a scenario, and with a scenario of many more steps; for each, the agents'
CPU per call and the calls/s reached, then the ratios and the CPU per extra step. Prints
figures; asserts nothing.

    python bench/scenario_steps.py [--agents 2] [--calls 600] [--rate 300] [--extra 40]
"""

from __future__ import annotations

import argparse
from typing import Any

from coordinator.client import Lib
from proto import scenario


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def run(lib: Lib, profile: dict[str, Any]) -> tuple[float, float, dict[str, Any]]:
    """Agents' CPU (µs) per call, calls/s achieved, and the report."""
    assert lib.fleet is not None
    pids = [a.pid for a in lib.fleet.agents]
    before = sum(cpu_seconds(p) for p in pids)
    report = lib.run_load(profile, timeout=600)
    used = sum(cpu_seconds(p) for p in pids) - before
    calls = max(1, report["attempted"])
    return 1e6 * used / calls, float(report["achieved_rate"]), report


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--agents", type=int, default=2)
    p.add_argument("--calls", type=int, default=600)
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--extra", type=int, default=40, help="steps added to each leg")
    args = p.parse_args()
    base = {"rate": args.rate, "calls": args.calls, "self": True}
    builtin = scenario.builtin("0", "caller", "1", "rfc2833", "200", 0.0)
    # the same flow with many cheap steps in each leg (a zero pause each: no wait, no SIP)
    zero = [{"op": "pause", "s": "0"}] * args.extra
    longer = {"name": "longer", "caller": builtin["caller"][:2] + zero + builtin["caller"][2:],
              "callee": builtin["callee"][:1] + zero + builtin["callee"][1:]}
    variants = [("built-in options", {**base, "hold": "0", "dtmf": "1"}),
                ("the same as a scenario", {**base, "scenario": {**builtin, "name": "same"}}),
                (f"+{args.extra} steps per leg", {**base, "scenario": longer})]
    lib = Lib.start_local(agents=args.agents)
    try:
        lib.run_load({**base, "calls": min(60, args.calls), "hold": "0"}, timeout=120)  # warm
        figures = []
        for name, profile in variants:
            per_call, rate, report = run(lib, profile)
            ok = report["answered"] == report["attempted"] and report["failed"] == 0
            steps = sum(len(profile.get("scenario", builtin)[leg]) for leg in ("caller", "callee"))
            figures.append((name, per_call, rate, steps))
            print(f"{name:<24} {report['attempted']:>5} calls, {rate:7.1f} calls/s, agents' CPU "
                  f"{per_call:7.0f} µs per call, {steps:>3} steps per call"
                  + ("" if ok else f"  (FAILED: {report['failed_by_code']})"), flush=True)
    finally:
        lib.destroy()
    (_, cpu0, rate0, steps0), (_, cpu1, rate1, _), (_, cpu2, _, steps2) = figures
    print(f"\nscenario / built-in options: calls/s {rate1 / rate0:.3f}x, CPU per call "
          f"{cpu1 / cpu0:.3f}x (the same code runs both)")
    print(f"CPU per extra step: {(cpu2 - cpu0) / (steps2 - steps0):.1f} µs "
          f"({steps2 - steps0} more steps per call)")


if __name__ == "__main__":
    main()
