"""`callfleet call`: one call through the fleet; exit 0 only if it was answered."""

from __future__ import annotations

import argparse
import signal
import threading
import time
from types import FrameType

from coordinator.cli.options import (
    ONE_SHOT_LEASE_S,
    client_options,
    connect,
    failure,
    nonneg,
    positive,
)
from coordinator.client import Account, Call, CallCallback, Error, Lib


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
    """Exit 0 if the call was answered, 1 if not (or it could not start), 2 if the coordinator
    could not be reached, 130 when interrupted (Ctrl-C, SIGTERM). Whatever happens, the call and
    the account are gone from the fleet when it returns (and, should the command be killed
    outright, a short lease later)."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        lib = connect(args, ONE_SHOT_LEASE_S)
    except Error as exc:
        return failure("call", exc, args.coordinator)
    except KeyboardInterrupt:
        return 130
    try:
        return _call(lib, args)
    except Error as exc:
        failure("call", exc)
        return 1
    except KeyboardInterrupt:
        print("callfleet call: interrupted", flush=True)
        return 130
    finally:
        try:
            _clean_up(lib)
        except KeyboardInterrupt:  # again: the fleet releases the rest with the lease
            print(f"callfleet call: the fleet releases the rest within {ONE_SHOT_LEASE_S:g} s")
        lib.destroy()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _call(lib: Lib, args: argparse.Namespace) -> int:
    """Place the call, print its states, hold it."""
    acc: Account = lib.create_account(args.from_uri)
    cb = _Printer(time.monotonic())
    call: Call = acc.make_call(args.uri, cb=cb)
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
    return 0 if cb.answered.is_set() else 1


def _clean_up(lib: Lib) -> None:
    """Hang up what is still up and delete the account: everything this client made, also a
    request cut short by Ctrl-C (the client names its objects before it asks for them); what
    is gone already is fine."""
    for call in list(lib.session.calls.values()):
        try:
            if call.is_valid():
                call.hangup()
        except Error:
            pass  # it ended (or was never made) meanwhile
    for acc in list(lib.session.accounts.values()):
        try:
            acc.delete()
        except Error:
            pass  # it went (or was never made) meanwhile


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("call", help="one call through the fleet; exit 0 if it was answered")
    c.add_argument("uri", help="destination SIP URI")
    c.add_argument("--from", dest="from_uri", default="sip:callfleet@127.0.0.1",
                   help="calling account URI")
    c.add_argument("--hold", type=nonneg, default=1.0, help="seconds to stay connected")
    c.add_argument("--ring-timeout", type=positive, default=30.0, help="seconds to wait for answer")
    c.add_argument("--local", type=int, default=0, metavar="N",
                   help="use an embedded fleet of N agents instead of --coordinator")
    client_options(c)
    c.set_defaults(func=cmd_call)

