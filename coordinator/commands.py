"""`callfleet status`, `callfleet call`, `callfleet up` and `callfleet run`."""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from coordinator.client import Account, Call, CallCallback, Error, Lib
from proto import curve


def _connect(args: argparse.Namespace) -> Lib:
    if getattr(args, "local", 0):
        return Lib.start_local(agents=args.local)
    return Lib.connect(args.coordinator, timeout=args.timeout, server_key=args.server_key,
                       key=args.key)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--coordinator", default="tcp://127.0.0.1:5601", help="coordinator clients URL")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for replies")
    curve.add_options(p)


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
    lines.append(f"{n} agents, {status['calls']} calls of {cap} slots, "
                 f"{status['accounts']} accounts (protocol v{status['version']})")
    for run in status.get("loads", []):
        lines.append(f"load run {run['run']}: {run['elapsed']:.0f} s, started {run['started']}, "
                     f"answered {run['answered']}, failed {run['failed']}, up {run['active']}, "
                     f"rate {run['rate']:.1f}/s of {run['target_rate']:g}/s")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    try:
        lib = _connect(args)
    except Error as exc:
        print(f"callfleet status: {exc}")
        return 2
    try:
        print(format_agents(lib.status()))
    finally:
        lib.destroy()
    return 0


class _Printer(CallCallback):
    def __init__(self, t0: float) -> None:
        super().__init__()
        self.t0 = t0
        self.answered = threading.Event()
        self.done = threading.Event()

    def on_state(self) -> None:
        assert self.call is not None
        i = self.call.info()
        print(f"{time.monotonic() - self.t0:8.3f}s  {i.state:<12} {i.last_code} {i.last_reason}",
              flush=True)
        if i.state == "CONFIRMED":
            self.answered.set()
        if i.state == "DISCONNECTED":
            self.done.set()


def cmd_call(args: argparse.Namespace) -> int:
    try:
        lib = _connect(args)
    except Error as exc:
        print(f"callfleet call: {exc}")
        return 2
    try:
        acc: Account = lib.create_account(args.from_uri)
        cb = _Printer(time.monotonic())
        try:
            call: Call = acc.make_call(args.uri, cb=cb)
        except Error as exc:
            print(f"callfleet call: {exc}")
            return 1
        with lib.auto_lock():  # callbacks print under this lock too: lines never interleave
            print(f"call {call.id} placed on agent {call.agent}", flush=True)
        deadline = time.monotonic() + args.ring_timeout
        while not cb.done.is_set() and not cb.answered.is_set() and time.monotonic() < deadline:
            cb.answered.wait(0.05)
        if cb.answered.is_set():
            cb.done.wait(args.hold)
        if not cb.done.is_set():
            try:
                call.hangup()
            except Error:
                pass  # it ended meanwhile
            cb.done.wait(5)
        acc.delete()
        return 0 if cb.answered.is_set() else 1
    finally:
        lib.destroy()


def add_parsers(sub: Any) -> None:
    from coordinator import events_cmd, load_cli, supervise

    s = sub.add_parser("status", help="agents, capacity, load, calls")
    _common(s)
    s.set_defaults(func=cmd_status)

    c = sub.add_parser("call", help="one call through the fleet; exit 0 if it was answered")
    c.add_argument("uri", help="destination SIP URI")
    c.add_argument("--from", dest="from_uri", default="sip:callfleet@127.0.0.1",
                   help="calling account URI")
    c.add_argument("--hold", type=float, default=1.0, help="seconds to stay connected")
    c.add_argument("--ring-timeout", type=float, default=30.0, help="seconds to wait for answer")
    c.add_argument("--local", type=int, default=0, metavar="N",
                   help="use an embedded fleet of N agents instead of --coordinator")
    _common(c)
    c.set_defaults(func=cmd_call)

    supervise.add_parser(sub)
    events_cmd.add_parser(sub)
    load_cli.add_parser(sub)
