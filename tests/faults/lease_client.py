"""A client process for lease tests: ``python -m tests.faults.lease_client URL LEASE`` connects
with that lease, makes two accounts (bob answers), a call from alice to bob (both legs are
its), a buddy, a tone generator and an event subscription, prints ``READY {ids}`` and waits to
be killed."""

from __future__ import annotations

import json
import sys
import threading

from coordinator.client import Lib
from tests.helpers import Recorder, wait_for


def main(url: str, lease: float) -> None:
    try:
        lib = Lib.connect(url, lease=lease)
    except TypeError:  # a client without leases: the test then fails where it should, on release
        lib = Lib.connect(url)
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.reached("CONFIRMED"), 10, "the call to be answered")
    buddy = alice.add_buddy(bob.contact)
    tone = lib.create_tone(440, agent=alice.agent)
    sub = lib.request("events.subscribe", {"snapshot": False})["sub"]
    print("READY " + json.dumps({"accounts": [alice.id, bob.id], "call": call.id,
                                 "buddy": buddy.id, "tone": tone, "sub": sub}), flush=True)
    threading.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
