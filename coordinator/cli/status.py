"""`callfleet status`: the fleet as a table."""

from __future__ import annotations

import argparse
from typing import Any

from coordinator.cli.options import ONE_SHOT_LEASE_S, client_options, connect, counted, failure
from coordinator.client import Error


def _health(agent: dict[str, Any], what: str) -> str:
    """An agent's bridge ports (used/max) or sockets, with what leaked: ``3/128``, ``45/128
    (40 leaked)``; ``-`` before its first heartbeat."""
    used = agent.get(f"{what}_used" if what == "bridge" else what)
    if used is None:
        return "-"
    shown = f"{used}/{agent['bridge_max']}" if what == "bridge" else str(used)
    leaked = agent.get(f"{what}_leaked") or 0
    return f"{shown} ({leaked} leaked)" if leaked else shown


def format_agents(status: dict[str, Any]) -> str:
    rows = [("AGENT", "HOST", "PID", "SIP", "STATE", "CALLS", "CAPACITY", "FREE", "ACCOUNTS",
             "BRIDGE", "SOCKETS")]
    for a in sorted(status["agents"], key=lambda a: a["name"]):
        rows.append((a["name"], a["host"], str(a["pid"]), ",".join(a["sip"]), a["state"],
                     str(a["calls"]), str(a["capacity"]), str(a["free"]), str(a["accounts"]),
                     _health(a, "bridge"), _health(a, "sockets")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    n = len(status["agents"])
    cap = sum(a["capacity"] for a in status["agents"])
    lines.append(f"{counted(n, 'agent')}, {counted(status['calls'], 'call')} of "
                 f"{counted(cap, 'slot')}, {counted(status['accounts'], 'account')} "
                 f"(protocol v{status['version']})")
    for run in status.get("loads", []):
        lines.append(f"load run {run['run']}: {run['elapsed']:.0f} s, started {run['started']}, "
                     f"answered {run['answered']}, failed {run['failed']}, up {run['active']}, "
                     f"rate {run['rate']:.1f}/s of {run['target_rate']:g}/s")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    try:
        lib = connect(args, ONE_SHOT_LEASE_S)
    except Error as exc:
        return failure("status", exc, args.coordinator)
    try:
        print(format_agents(lib.status()))
    finally:
        lib.destroy()
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = sub.add_parser("status", help="agents, capacity, load, calls")
    client_options(s)
    s.set_defaults(func=cmd_status)
