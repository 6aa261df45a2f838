"""A supervisord event listener: tells the coordinator when a process enters FATAL.

supervisord restarts a crashed agent (``autorestart``), but one that keeps exiting before
``startsecs`` is given up after ``startretries`` attempts and left in FATAL: nothing will bring it
back without an operator. This listener turns that into an ``agent.fatal`` request to the
coordinator (over the agents socket, as this host's agents speak), which logs it; the coordinator
may be on another host.

Configured as (see deploy/*.conf)::

    [eventlistener:fatal]
    command=python -m coordinator.cli.fatal_listener --coordinator tcp://COORDINATOR:5600
    events=PROCESS_STATE_FATAL

The listener protocol (supervisor docs, "Events") is ``supervisor.childutils``'s: READY, one
header line whose ``len`` gives the payload's length, the payload, RESULT. stdout carries the
protocol only, so the log goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TextIO

import zmq

import proto
from proto import ProtoError, curve, limits, logsetup

#: seconds to wait for the coordinator's reply before giving up on one report
REPLY_S = 5.0

Report = Callable[[dict[str, str]], str]


def serve(stdin: TextIO, stdout: TextIO, report: Report, log: Callable[[str], None],
          max_events: int | None = None) -> int:
    """Run the listener protocol (``supervisor.childutils``) until stdin closes (or
    ``max_events``); returns events handled.

    ``report`` gets the event's fields (header and payload merged); whatever it raises is
    logged, never propagated: supervisord must always get its RESULT."""
    from supervisor import childutils  # the deploy extra: only where supervisord runs us

    handled = 0
    while max_events is None or handled < max_events:
        childutils.listener.ready(stdout)
        line = stdin.readline()
        if not line:
            break  # supervisord closed our stdin: it is stopping us
        header = childutils.get_headers(line)
        payload = stdin.read(int(header.get("len", "0") or 0))
        fields = dict(header, **childutils.get_headers(payload.split("\n", 1)[0]))
        try:
            if header.get("eventname") == "PROCESS_STATE_FATAL":
                log(report(fields))
        except Exception as exc:  # a report must never stop the listener
            log(f"could not report {fields.get('processname')}: {exc}")
        childutils.listener.ok(stdout)
        handled += 1
    return handled


def coordinator_reporter(url: str, host: str, timeout: float = REPLY_S,
                         keys: curve.ClientKeys | None = None) -> Report:
    """A ``report`` that sends ``agent.fatal`` to the coordinator at ``url`` and waits for its reply."""

    def report(fields: dict[str, str]) -> str:
        name = fields.get("processname", "")
        args = {"name": name, "group": fields.get("groupname", ""), "host": host,
                "from_state": fields.get("from_state", "")}
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        try:
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
            if keys is not None:
                keys.apply(sock)
            sock.connect(url)
            sock.send(proto.encode(proto.req("agent.fatal", args, f"fatal-{time.time_ns()}")))
            if not sock.poll(int(timeout * 1000)):
                return f"{name} is FATAL; the coordinator at {url} did not answer"
            rep = proto.decode(sock.recv())
        except ProtoError as exc:
            return f"{name} is FATAL; bad reply from {url}: {exc}"
        finally:
            sock.close(0)
            ctx.term()
        if not rep.ok:
            return f"fatal_listener: {name} is FATAL; the coordinator refused: {rep.error}"
        return f"fatal_listener: {name} is FATAL; reported to {url} ({rep.result})"

    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m coordinator.cli.fatal_listener", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--coordinator", default="tcp://127.0.0.1:5600",
                   help="coordinator agents URL (the listener speaks where this host's agents do, "
                        "with their key under CURVE)")
    p.add_argument("--host", default=socket.gethostname(), help="this host's name in the reports")
    curve.add_options(p)
    logsetup.add_option(p)
    args = p.parse_args(argv)
    try:
        keys = curve.from_args(args)
    except curve.KeyFileError as exc:
        p.error(str(exc))

    logsetup.configure(args.log_level)
    log = logging.getLogger("fatal_listener").info

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)  # supervisord stops us with SIGTERM: a clean exit, not a kill

    signal.signal(signal.SIGTERM, on_term)

    serve(sys.stdin, sys.stdout,
          coordinator_reporter(args.coordinator, args.host, keys=keys), log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
