"""`callfleet events`: print the fleet's events as JSON lines, for shell pipelines.

Two sources:

- ``--coordinator URL`` (the default, the clients endpoint): an ``events.subscribe`` with the
  filters given, so the coordinator filters, and the first line is the subscription's snapshot
  (``{"kind": "snapshot", "sub", "accounts", "calls", "truncated"}``; ``--no-snapshot`` leaves it
  out). The subscription ends (``events.unsubscribe``) when the command stops.
- ``--events URL`` (the PUB firehose): a SUB socket; the filters are applied here. The firehose
  does not say which account an outgoing call belongs to, so ``acc=`` selects only account events
  and the incoming calls they announce.

Every other line is one event, its wire map as JSON: ``{"v", "kind": "evt", "id", "op", "obj",
"seq", "ts", "data"}``. The command stops after ``--count`` events, after ``--duration`` seconds,
or on SIGINT/SIGTERM (exit status 0), and exits 2 when it cannot subscribe.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import zmq

import proto
from coordinator.cli.urls import client_url
from coordinator.client.connection import Connection
from coordinator.server.subscriptions import Filter, Subscription, event_keys, parse_exprs, parse_filter
from proto import ProtoError, curve, limits

#: how often the loop looks at its stop conditions, seconds
TICK_S = 0.2


class _Out:
    """JSON lines on stdout; ``ok`` turns False once the reader has gone (broken pipe)."""

    def __init__(self) -> None:
        self.ok = True
        self.count = 0

    def line(self, obj: dict[str, Any]) -> bool:
        try:
            sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=repr) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader went away (`| head`): stop quietly, and keep Python's exit flush quiet
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.ok = False
        return self.ok


def _filters(args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    try:
        include, exclude = parse_exprs(args.filter), parse_exprs(args.exclude)
        parse_filter(include, "--filter")
        parse_filter(exclude, "--exclude")
    except ValueError as exc:
        raise SystemExit(f"callfleet events: {exc}") from None
    except ProtoError as exc:
        raise SystemExit(f"callfleet events: {exc.msg}") from None
    return include, exclude


def _stopper(args: argparse.Namespace, out: _Out) -> Callable[[], bool]:
    """A predicate that turns true on a signal, past --duration, after --count events, or once
    stdout is closed."""
    signalled = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        signalled.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = time.monotonic() + args.duration if args.duration else None
    return lambda: (signalled.is_set() or not out.ok
                    or (deadline is not None and time.monotonic() >= deadline)
                    or (args.count > 0 and out.count >= args.count))


def _from_coordinator(args: argparse.Namespace, include: dict[str, list[str]],
                      exclude: dict[str, list[str]], out: _Out,
                      keys: curve.ClientKeys | None) -> int:
    """Subscribe, print events; when the coordinator restarts (its lease replies name a new
    instance), subscribe again, say so on stderr and print a ``resubscribed`` line (with the
    new snapshot): events in between are lost, and a pipeline is told."""
    events: queue.Queue[proto.Message | None] = queue.Queue()
    seen = {"coordinator": "", "restarted": ""}

    def on_lease(result: dict[str, Any]) -> None:  # on the connection's I/O thread
        cid = str(result.get("coordinator") or "")
        if cid and seen["coordinator"] and cid != seen["coordinator"]:
            seen["restarted"] = cid
        seen["coordinator"] = cid or seen["coordinator"]

    # a short lease: renewed every 2 s, so a restart is seen within seconds
    conn = Connection(args.coordinator, events, keys, lease=6.0, on_lease=on_lease)
    try:
        request: dict[str, Any] = {"snapshot": not args.no_snapshot}
        if include:
            request["include"] = include
        if exclude:
            request["exclude"] = exclude
        first = _subscribe(conn, args, request)
        if first is None:
            return 2
        print(f"callfleet events: subscribed ({first['sub']}) at {args.coordinator}",
              file=sys.stderr, flush=True)
        if not args.no_snapshot:
            out.line({"kind": "snapshot", **first})
        sid = first["sub"]
        stop = _stopper(args, out)
        while not stop():
            if seen["restarted"]:
                seen["restarted"] = ""
                again = _subscribe(conn, args, request)
                if again is not None:
                    sid = again["sub"]
                    print(f"callfleet events: the coordinator restarted; subscribed again "
                          f"({sid}); events in between are lost", file=sys.stderr, flush=True)
                    out.line({"kind": "resubscribed", "coordinator": seen["coordinator"],
                              **again})
            try:
                msg = events.get(timeout=TICK_S)
            except queue.Empty:
                continue
            if msg is not None and out.line(msg.to_wire()):
                out.count += 1
        try:
            conn.request("events.unsubscribe", {"sub": sid}, timeout=2.0)
        except ProtoError:
            pass  # the coordinator went away: nothing to undo
        return 0
    finally:
        conn.close()


def _subscribe(conn: Connection, args: argparse.Namespace,
               request: dict[str, Any]) -> dict[str, Any] | None:
    """events.subscribe; its result, or None after one line on stderr."""
    try:
        rep = conn.request("events.subscribe", request, timeout=args.timeout)
    except ProtoError as exc:
        print(f"callfleet events: {args.coordinator}: {exc.msg}", file=sys.stderr)
        return None
    if not rep.ok:
        err = rep.error or {}
        print(f"callfleet events: {err.get('code')}: {err.get('msg')}", file=sys.stderr)
        return None
    return rep.result


def _from_firehose(args: argparse.Namespace, include: dict[str, list[str]],
                   exclude: dict[str, list[str]], out: _Out,
                   keys: curve.ClientKeys | None) -> int:
    sub = Subscription("cli", parse_filter(include, "--filter"), parse_filter(exclude, "--exclude"))
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
    sock.setsockopt(zmq.RCVHWM, 100000)
    for topic in _topics(sub.include):
        sock.setsockopt(zmq.SUBSCRIBE, topic)
    if keys is not None:
        keys.apply(sock)
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    sock.connect(args.events)
    # PUB sends nothing to a subscriber before it is connected (ZeroMQ's "slow joiner"): say
    # when it is, so a script can wait for that before it starts what it wants to watch
    if monitor.poll(int(args.timeout * 1000)):
        print(f"callfleet events: subscribed at {args.events}", file=sys.stderr, flush=True)
    else:
        print(f"callfleet events: {args.events} not reachable yet; waiting", file=sys.stderr,
              flush=True)
    sock.disable_monitor()
    monitor.close(0)
    call_acc: dict[str, str] = {}  # incoming call -> its account, learnt from acc.incoming_call
    stop = _stopper(args, out)
    try:
        while not stop():
            if not sock.poll(int(TICK_S * 1000)):
                continue
            parts = sock.recv_multipart()
            try:
                msg = proto.decode(parts[-1])
            except ProtoError:
                continue
            if msg.kind != "evt":
                continue
            if msg.op == "acc.incoming_call" and isinstance(msg.data.get("call"), str):
                call_acc[msg.data["call"]] = msg.obj
            account = call_acc.get(msg.obj, "")
            if msg.op == "call.state" and msg.data.get("state") == "DISCONNECTED":
                call_acc.pop(msg.obj, None)
            if sub.accepts(event_keys(msg.op, msg.obj, msg.data, account)) \
                    and out.line(msg.to_wire()):
                out.count += 1
        return 0
    finally:
        sock.close(0)
        ctx.term()


def _topics(include: Filter) -> list[bytes]:
    """SUB prefixes: one per event-name prefix of the include filter, else every event."""
    if not include.events:
        return [b"evt."]
    return [f"evt.{p.rstrip('.')}.".encode() for p in include.events]


def cmd_events(args: argparse.Namespace) -> int:
    include, exclude = _filters(args)
    out = _Out()
    try:
        keys = curve.from_args(args)
    except curve.KeyFileError as exc:
        print(f"callfleet events: {exc}", file=sys.stderr)
        return 2
    if args.events:
        return _from_firehose(args, include, exclude, out, keys)
    return _from_coordinator(args, include, exclude, out, keys)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser(
        "events", help="print events as JSON lines (for shell pipelines)",
        description="Print the fleet's events as JSON lines. Filters: EXPR is KEY=V1,V2 with KEY "
                    "event (an event-name prefix: call, call.state, acc, load, ...), acc, call or "
                    "run; a bare word is an event-name prefix. Values of one key are ORed, "
                    "different keys ANDed.",
        epilog="examples: callfleet events --filter call.state | jq -r .data.state ; "
               "callfleet events --filter acc=alice --exclude call.media_state --count 10")
    src = e.add_mutually_exclusive_group()
    src.add_argument("--coordinator", type=client_url, default="tcp://127.0.0.1:5601",
                     help="subscribe over the clients endpoint (default %(default)s)")
    src.add_argument("--events", metavar="URL", type=client_url, default="",
                     help="read the PUB firehose instead, e.g. tcp://127.0.0.1:5602 (no snapshot)")
    e.add_argument("--filter", action="append", default=[], metavar="EXPR",
                   help="deliver only events matching EXPR (repeatable)")
    e.add_argument("--exclude", action="append", default=[], metavar="EXPR",
                   help="never deliver events matching EXPR (repeatable; ANDed like --filter)")
    e.add_argument("--no-snapshot", action="store_true",
                   help="do not print the snapshot line first (--coordinator only)")
    e.add_argument("--count", type=int, default=0, metavar="N", help="stop after N events")
    e.add_argument("--duration", type=float, default=0.0, metavar="S", help="stop after S seconds")
    e.add_argument("--timeout", type=float, default=5.0,
                   help="seconds to wait for the subscription's reply (or the firehose to connect)")
    curve.add_options(e)
    e.set_defaults(func=cmd_events)
