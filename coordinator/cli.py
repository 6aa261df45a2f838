"""The `callfleet` command."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from types import FrameType

from coordinator import firehose
from coordinator.adoption import DEFAULT_WINDOW_S
from coordinator.delivery import CLIENT_QUEUE
from proto import limits

DEFAULT_AGENTS = "tcp://127.0.0.1:5600"
DEFAULT_CLIENTS = "tcp://127.0.0.1:5601"
DEFAULT_EVENTS = "tcp://127.0.0.1:5602"


def cmd_coordinator(args: argparse.Namespace) -> int:
    from coordinator.broker import Coordinator
    from coordinator.keyopts import bind_plan, server_keys
    from coordinator.security import warn
    from proto.curve import KeyFileError

    try:
        keys = server_keys(args)
    except KeyFileError as exc:
        print(f"callfleet coordinator: {exc}", file=sys.stderr)
        return 2
    plan = bind_plan(args, keys)
    if plan.error:
        print(f"callfleet coordinator: {plan.error}", file=sys.stderr)
        return 2
    warn(plan.warnings)
    lost_after = args.lost_after if args.lost_after is not None else default_lost_after(args.agents_bind)
    co = Coordinator(args.agents_bind, args.clients_bind, args.events_bind or None,
                     lost_after_s=lost_after, client_queue=args.client_queue,
                     client_sndbuf=args.client_sndbuf, keys=keys,
                     adopt_window_s=args.adopt_window, events_queue=args.events_queue,
                     max_subscribers=args.max_subscribers)
    if args.metrics_port is not None:
        co.enable_metrics(args.metrics_host, args.metrics_port)

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


def default_lost_after(agents_bind: str) -> float:
    """Seconds without a heartbeat before an agent is declared lost: 3 missed heartbeats when
    agents can only be local (the agents socket is bound to loopback), 5 across hosts."""
    host = agents_bind.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    local = host == "localhost" or host == "::1" or host.startswith("127.")
    return limits.HEARTBEAT_S * (limits.HEARTBEAT_MISSES if local else limits.HEARTBEAT_MISSES_REMOTE)


def _seconds(text: str) -> float | None:
    """--lost-after's value: positive seconds; '' (as an unset environment variable gives) = auto."""
    if not text.strip():
        return None
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in (0, 3600]")
    return value


def _window(text: str) -> float:
    """--adopt-window's value: seconds in [0, 600]."""
    value = float(text)
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in [0, 600]")
    return value


def _count(text: str) -> int:
    """A positive integer (0 would make a ZeroMQ high-water mark unlimited)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def cmd_agent(rest: list[str]) -> int:
    """The agent is its own program (it alone imports pjsua2): run it in this process's place."""
    os.execv(sys.executable, [sys.executable, "-m", "agent", *rest])
    return 1  # not reached


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callfleet", description="A distributed SIP call agent.")
    sub = p.add_subparsers(dest="cmd", required=True)
    from coordinator import keyopts

    c = sub.add_parser("coordinator", help="run the coordinator")
    c.add_argument("--agents-bind", default=DEFAULT_AGENTS)
    c.add_argument("--clients-bind", default=DEFAULT_CLIENTS)
    c.add_argument("--events-bind", default=DEFAULT_EVENTS, help="PUB event firehose ('' = off)")
    c.add_argument("--ready", action="store_true", help="print READY {endpoints} once bound")
    c.add_argument("--lost-after", type=_seconds, default=None, metavar="SECONDS",
                   help="declare an agent lost after this long without a heartbeat (default 3 "
                        "when --agents-bind is loopback, 5 otherwise: across hosts)")
    c.add_argument("--adopt-window", type=_window, default=DEFAULT_WINDOW_S, metavar="SECONDS",
                   help="after start, adopt what reconnecting agents hold (a restarted "
                        "coordinator) and hold client requests for this long (default "
                        f"{DEFAULT_WINDOW_S:g}: agents notice a lost coordinator within 3 s and "
                        "say hello every 1 s; 0: no window, for a fleet whose agents start "
                        "after the coordinator)")
    c.add_argument("--client-queue", type=_count, default=CLIENT_QUEUE, metavar="MESSAGES",
                   help="messages queued at most for one client connection; beyond, they are "
                        f"dropped and the client is told (events.gap) (default {CLIENT_QUEUE})")
    c.add_argument("--client-sndbuf", type=_count, default=0, metavar="BYTES",
                   help="kernel send buffer of each client connection (default: the OS's)")
    c.add_argument("--events-queue", type=_count, default=firehose.QUEUE, metavar="MESSAGES",
                   help="events queued at most for one subscriber of the PUB firehose; beyond, "
                        f"its events are dropped (default {firehose.QUEUE})")
    c.add_argument("--max-subscribers", type=_count, default=firehose.MAX_SUBSCRIBERS,
                   metavar="N", help="subscriber connections the PUB firehose takes at most; "
                   f"beyond, new ones are refused (default {firehose.MAX_SUBSCRIBERS})")
    c.add_argument("--metrics-port", type=int, default=None,
                   help="serve Prometheus /metrics on this TCP port (0: any free port)")
    c.add_argument("--metrics-host", default="127.0.0.1", help="address of the /metrics server")
    keyopts.add_server_options(c)
    c.set_defaults(func=cmd_coordinator)
    keyopts.add_keys_parser(sub)

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
