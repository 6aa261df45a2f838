"""The `callfleet` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from types import FrameType

DEFAULT_AGENTS = "tcp://127.0.0.1:5600"
DEFAULT_CLIENTS = "tcp://127.0.0.1:5601"
DEFAULT_EVENTS = "tcp://127.0.0.1:5602"


def cmd_coordinator(args: argparse.Namespace) -> int:
    from coordinator.broker import Coordinator

    co = Coordinator(args.agents_bind, args.clients_bind, args.events_bind or None)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        co.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.ready:
        print("READY " + json.dumps(co.endpoints()), flush=True)
    try:
        co.run()
    finally:
        co.close()
    return 0


def cmd_agent(rest: list[str]) -> int:
    """The agent is its own program (it alone imports pjsua2): run it in this process's place."""
    os.execv(sys.executable, [sys.executable, "-m", "agent", *rest])
    return 1  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callfleet", description="A distributed SIP call agent.")
    sub = p.add_subparsers(dest="cmd", required=True)

    c = sub.add_parser("coordinator", help="run the coordinator")
    c.add_argument("--agents-bind", default=DEFAULT_AGENTS)
    c.add_argument("--clients-bind", default=DEFAULT_CLIENTS)
    c.add_argument("--events-bind", default=DEFAULT_EVENTS, help="PUB event firehose ('' = off)")
    c.add_argument("--ready", action="store_true", help="print READY {endpoints} once bound")
    c.set_defaults(func=cmd_coordinator)

    sub.add_parser("agent", help="run one agent (see `callfleet agent --help`)")

    from coordinator import commands

    commands.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "agent":
        return cmd_agent(argv[1:])
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
