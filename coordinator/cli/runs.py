"""`callfleet runs`, `callfleet rate RUN R`, `callfleet stop RUN`: the load runs of a fleet,
steered from any shell (as SIPp's keys steer its own run). Changing or stopping a run takes
the run's owner, or an admin (every local client when the fleet runs without CURVE keys)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from coordinator.cli.options import client_options, connect, failure, nonneg
from coordinator.client import Error, Lib

#: seconds `stop` waits for the run to end its calls and leave the fleet's status
STOP_WAIT_S = 15.0


def format_runs(loads: list[dict[str, Any]]) -> str:
    if not loads:
        return "no load run"
    rows = [("RUN", "ELAPSED", "STARTED", "ANSWERED", "FAILED", "LOST", "UP", "RATE", "TARGET")]
    for r in loads:
        rows.append((r["run"], f"{r['elapsed']:.0f}s", str(r["started"]), str(r["answered"]),
                     str(r["failed"]), str(r.get("lost", 0)), str(r["active"]),
                     f"{r.get('rate_window', r['rate']):.1f}/s", f"{r['target_rate']:g}/s"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def _with_fleet(args: argparse.Namespace, action: Callable[[Lib], int]) -> int:
    """Connect, do ``action``, disconnect; a refusal is one line and exit 2."""
    try:
        lib = connect(args)
    except Error as exc:
        return failure(args.cmd, exc, args.coordinator)
    try:
        return action(lib)
    except Error as exc:
        return failure(args.cmd, exc, args.coordinator)
    finally:
        lib.destroy()


def cmd_runs(args: argparse.Namespace) -> int:
    def show(lib: Lib) -> int:
        print(format_runs(lib.status().get("loads", [])))
        return 0
    return _with_fleet(args, show)


def cmd_rate(args: argparse.Namespace) -> int:
    def rate(lib: Lib) -> int:
        lib.set_load_rate(args.run, args.new_rate)
        print(f"run {args.run}: {args.new_rate:g} calls/s from now")
        return 0
    return _with_fleet(args, rate)


def cmd_stop(args: argparse.Namespace) -> int:
    def stop(lib: Lib) -> int:
        lib.stop_load(args.run)
        deadline = time.monotonic() + STOP_WAIT_S
        while any(r["run"] == args.run for r in lib.status().get("loads", [])):
            if time.monotonic() > deadline:
                print(f"run {args.run}: told to stop; its calls are still ending")
                return 0
            time.sleep(0.2)  # polling the fleet's status, with the deadline above
        print(f"run {args.run}: stopped (its report went to its owner)")
        return 0
    return _with_fleet(args, stop)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    runs = sub.add_parser("runs", help="the load runs of a fleet")
    client_options(runs)
    runs.set_defaults(func=cmd_runs)
    rate = sub.add_parser("rate", help="change a load run's rate")
    rate.add_argument("run", help="the run's id (callfleet runs)")
    rate.add_argument("new_rate", type=nonneg, metavar="RATE", help="calls per second (0: pause)")
    client_options(rate)
    rate.set_defaults(func=cmd_rate)
    stop = sub.add_parser("stop", help="stop a load run: no new calls, live ones end")
    stop.add_argument("run", help="the run's id (callfleet runs)")
    client_options(stop)
    stop.set_defaults(func=cmd_stop)
