"""`callfleet call`: one call through the fleet; exit 0 only if it was answered."""

from __future__ import annotations

import argparse
import threading
import time

from coordinator.cli.options import ONE_SHOT_LEASE_S, client_options, connect
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
    could not be reached, 130 on Ctrl-C. Whatever happens, the account and the call it made are
    gone from the fleet when it returns (and, should the command be killed, a short lease
    later)."""
    try:
        lib = connect(args, ONE_SHOT_LEASE_S)
    except Error as exc:
        print(f"callfleet call: {exc}")
        return 2
    made: list[Account | Call] = []
    try:
        return _call(lib, args, made)
    except Error as exc:
        print(f"callfleet call: {exc}")
        return 1
    except KeyboardInterrupt:
        print("callfleet call: interrupted", flush=True)
        return 130
    finally:
        _clean_up(made)
        lib.destroy()


def _call(lib: Lib, args: argparse.Namespace, made: list[Account | Call]) -> int:
    """Place the call, print its states, hold it; ``made`` gets the account and the call."""
    acc: Account = lib.create_account(args.from_uri)
    made.append(acc)
    cb = _Printer(time.monotonic())
    call: Call = acc.make_call(args.uri, cb=cb)
    made.append(call)
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


def _clean_up(made: list[Account | Call]) -> None:
    """Hang up the call if it is still up, delete the account (newest first); what is gone
    already is fine. A second Ctrl-C here leaves the rest to the lease."""
    for obj in reversed(made):
        try:
            if isinstance(obj, Call):
                if obj.is_valid():
                    obj.hangup()
            else:
                obj.delete()
        except Error:
            pass  # it ended (or went) meanwhile


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("call", help="one call through the fleet; exit 0 if it was answered")
    c.add_argument("uri", help="destination SIP URI")
    c.add_argument("--from", dest="from_uri", default="sip:callfleet@127.0.0.1",
                   help="calling account URI")
    c.add_argument("--hold", type=float, default=1.0, help="seconds to stay connected")
    c.add_argument("--ring-timeout", type=float, default=30.0, help="seconds to wait for answer")
    c.add_argument("--local", type=int, default=0, metavar="N",
                   help="use an embedded fleet of N agents instead of --coordinator")
    client_options(c)
    c.set_defaults(func=cmd_call)

