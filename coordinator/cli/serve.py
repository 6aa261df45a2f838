"""`callfleet coordinator`: the coordinator process, with its options."""

from __future__ import annotations

import argparse
import json
import logging
import signal
from types import FrameType

from coordinator.cli import metrics_options
from coordinator.cli.keys import add_server_options, bind_plan, server_keys
from coordinator.cli.options import (
    DEFAULT_AGENTS,
    DEFAULT_CLIENTS,
    DEFAULT_EVENTS,
    count,
    default_lost_after,
    seconds,
    window,
)
from coordinator.cli.urls import taken
from coordinator.server import firehose
from coordinator.server.adoption import DEFAULT_WINDOW_S
from coordinator.server.coordinator import Coordinator
from coordinator.server.delivery import CLIENT_QUEUE
from coordinator.server.security import warn
from proto.curve import KeyFileError

log = logging.getLogger("callfleet coordinator")


def cmd_coordinator(args: argparse.Namespace) -> int:

    try:
        keys = server_keys(args)
    except KeyFileError as exc:
        log.error("%s", exc)
        return 2
    plan = bind_plan(args, keys)
    if plan.error:
        log.error("%s", plan.error)
        return 2
    busy = next((why for url in (args.agents_bind, args.clients_bind, args.events_bind)
                 if url and (why := taken(url))), "")
    if busy:
        log.error("%s", busy)
        return 2
    warn(plan.warnings)
    lost_after = args.lost_after if args.lost_after is not None else default_lost_after(args.agents_bind)
    server = Coordinator(args.agents_bind, args.clients_bind, args.events_bind or None,
                         lost_after_s=lost_after, client_queue=args.client_queue,
                         client_sndbuf=args.client_sndbuf, keys=keys,
                         adopt_window_s=args.adopt_window, events_queue=args.events_queue,
                         max_subscribers=args.max_subscribers)
    if args.metrics_port is not None:
        try:
            server.enable_metrics(args.metrics_host, args.metrics_port)
        except OSError as exc:
            log.error("cannot serve /metrics on %s:%d: %s", args.metrics_host, args.metrics_port,
                      exc.strerror or exc)
            server.close()
            return 2
        log.info("Prometheus /metrics at %s", server.endpoints()["metrics"])

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.ready:
        print("READY " + json.dumps(server.endpoints()), flush=True)
    try:
        server.run()
    finally:
        server.close()
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("coordinator", help="run the coordinator")
    c.add_argument("--agents-bind", default=DEFAULT_AGENTS)
    c.add_argument("--clients-bind", default=DEFAULT_CLIENTS)
    c.add_argument("--events-bind", default=DEFAULT_EVENTS, help="PUB event firehose ('' = off)")
    c.add_argument("--ready", action="store_true", help="print READY {endpoints} once bound")
    c.add_argument("--lost-after", type=seconds, default=None, metavar="SECONDS",
                   help="declare an agent lost after this long without a heartbeat (default 3 "
                        "when --agents-bind is loopback, 5 otherwise: across hosts)")
    c.add_argument("--adopt-window", type=window, default=DEFAULT_WINDOW_S, metavar="SECONDS",
                   help="after start, adopt what reconnecting agents hold (a restarted "
                        "coordinator) and hold client requests for this long (default "
                        f"{DEFAULT_WINDOW_S:g}: agents notice a lost coordinator within 3 s and "
                        "say hello every 1 s; 0: no window, for a fleet whose agents start "
                        "after the coordinator)")
    c.add_argument("--client-queue", type=count, default=CLIENT_QUEUE, metavar="MESSAGES",
                   help="messages queued at most for one client connection; beyond, they are "
                        f"dropped and the client is told (events.gap) (default {CLIENT_QUEUE})")
    c.add_argument("--client-sndbuf", type=count, default=0, metavar="BYTES",
                   help="kernel send buffer of each client connection (default: the OS's)")
    c.add_argument("--events-queue", type=count, default=firehose.QUEUE, metavar="MESSAGES",
                   help="events queued at most for one subscriber of the PUB firehose; beyond, "
                        f"its events are dropped (default {firehose.QUEUE})")
    c.add_argument("--max-subscribers", type=count, default=firehose.MAX_SUBSCRIBERS,
                   metavar="N", help="subscriber connections the PUB firehose takes at most; "
                   f"beyond, new ones are refused (default {firehose.MAX_SUBSCRIBERS})")
    metrics_options.add_options(c)
    add_server_options(c)
    c.set_defaults(func=cmd_coordinator)
