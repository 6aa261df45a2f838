"""`callfleet answer URI`: a UAS service on the whole fleet, the counterpart of ``sipp -sn uas``
with real user agents and media. The account lives on every agent (replicas="all", and on
agents that join later), so a SIP front or any caller reaches it on any agent; a line a second,
a table at the end (Ctrl-C, SIGTERM or --duration)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from coordinator.cli.answering import OUTCOMES, Behaviour, Service, Tally
from coordinator.cli.options import client_options, connect, counted, failure, nonneg
from coordinator.client import Error, Lib
from proto import ProtoError
from proto.dist import parse_codes, parse_dist
from proto.schema import check_uri

#: seconds the stop waits for the live calls' ends
END_WAIT_S = 5.0


def _checked(check: Callable[[str], object]) -> Callable[[str], str]:
    """An argparse type: the text, once ``check`` accepts it (its ProtoError is the usage
    error); an empty text is accepted as it is (an option's empty default)."""
    def parse(text: str) -> str:
        if text:
            try:
                check(text)
            except ProtoError as exc:
                raise argparse.ArgumentTypeError(exc.msg) from None
        return text
    return parse


_codes = _checked(parse_codes)
_dist = _checked(parse_dist)
_uri = _checked(lambda text: check_uri(text, "the account"))


def line(t: float, tally: Tally, last_answered: int) -> str:
    """The line a second: ``  12 s  up 20  ringing 1  answered 240 (+20)  rejected 0 ...``."""
    answered = tally.total("answered")
    return (f"{t:5.0f} s  up {tally.up:3d}  ringing {tally.ringing:3d}  answered {answered:6d} "
            f"(+{answered - last_answered})  rejected {tally.total('rejected')}  "
            f"cancelled {tally.total('cancelled')}  lost {tally.total('lost')}")


def table(tally: Tally) -> str:
    """Calls by agent and outcome, and the total."""
    head = ("AGENT", "CALLS", *(o.upper() for o in OUTCOMES))
    rows = [head]
    for agent in tally.agents():
        rows.append((agent, str(tally.calls[agent]),
                     *(str(tally.outcomes[o][agent]) for o in OUTCOMES)))
    rows.append(("total", str(tally.total("calls")), *(str(tally.total(o)) for o in OUTCOMES)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
                     for r in rows)


def cmd_answer(args: argparse.Namespace) -> int:
    """Exit 0 after a stop (Ctrl-C, SIGTERM, --duration), 2 if the coordinator could not be
    reached or refused the account."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        lib = connect(args)
    except Error as exc:
        return failure("answer", exc, args.coordinator)
    behaviour = Behaviour(parse_codes(args.code), args.ring,
                          parse_dist(args.hold) if args.hold else None, args.media)
    service = Service(lib, behaviour)
    try:
        return _serve(lib, args, service, stop)
    except Error as exc:
        return failure("answer", exc)
    finally:
        service.timers.stop()
        lib.destroy()


def _serve(lib: Lib, args: argparse.Namespace, service: Service, stop: threading.Event) -> int:
    b = service.behaviour
    acc = lib.create_account(args.uri, cb=service, auto_answer=b.auto_answer, replicas="all",
                             ring=b.ring_s if b.auto_answer is not None else 0.0)
    how = (f"ringing {b.ring_s:g} s, then answering {args.code}" if b.ring_s else
           f"answering {args.code} at once")
    hold = f", hanging up after {args.hold} s" if args.hold else ", the caller hangs up"
    print(f"callfleet answer: {acc.uri} on {counted(len(acc.replicas), 'agent')} "
          f"({', '.join(acc.replicas) if len(acc.replicas) <= 4 else 'every agent'}, and any that "
          f"joins); {how}{hold}; media {b.media}; Ctrl-C stops", flush=True)
    t0 = time.monotonic()
    last = 0
    deadline = t0 + args.duration if args.duration else None
    n = 1
    while not stop.is_set():
        next_line = t0 + n
        if deadline is not None and deadline <= next_line:
            stop.wait(max(0.0, deadline - time.monotonic()))
            break
        if stop.wait(max(0.0, next_line - time.monotonic())):
            break
        with service.tally.lock:
            print(line(n, service.tally, last), flush=True)
            last = service.tally.total("answered")
        n += 1
    # no new call: the account goes from every agent, its live calls are hung up
    try:
        acc.delete()
    except Error as exc:
        print(f"callfleet answer: {exc.err_code}: {exc.err_msg}", file=sys.stderr)
    end = time.monotonic() + END_WAIT_S
    while (service.tally.up or service.tally.ringing) and time.monotonic() < end:
        time.sleep(0.05)
    with service.tally.lock:
        print(line(time.monotonic() - t0, service.tally, last), flush=True)
        print(table(service.tally), flush=True)
    if service.timers.errors:
        print(f"({counted(service.timers.errors, 'timed action')} (hang-up, tone) came after "
              "its call had ended)")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    a = sub.add_parser("answer", help="answer calls to URI on every agent until Ctrl-C (a UAS "
                                      "service: the far end of someone else's load test)")
    a.add_argument("uri", type=_uri, help="the account's URI, e.g. sip:bob@127.0.0.1")
    a.add_argument("--code", type=_codes, default="200",
                   help="answer code, or a mix such as 200:90,486:10")
    a.add_argument("--ring", type=nonneg, default=0.0, help="seconds of ringing (180) first")
    a.add_argument("--hold", type=_dist, default="",
                   help="hang up answered calls after S seconds (or exp:MEAN, uniform:A:B); "
                        "default: the caller hangs up")
    a.add_argument("--media", choices=("silence", "tone"), default="silence",
                   help="what answered calls send (tone: 440 Hz)")
    a.add_argument("--duration", type=nonneg, default=0.0,
                   help="stop after S seconds (0: at Ctrl-C)")
    a.add_argument("--local", type=int, default=0, metavar="N",
                   help="use an embedded fleet of N agents instead of --coordinator")
    client_options(a)
    a.set_defaults(func=cmd_answer)
