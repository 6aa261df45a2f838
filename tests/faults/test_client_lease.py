"""Client leases: what a client that vanished owned is released a lease after its last word
(accounts with their buddies, calls, media objects, subscriptions), another subscriber is told
(``client.expired``) and the fleet's capacity is whole again; a client that comes back within
its lease keeps everything; a persistent object outlives its creator, for an admin to delete."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from typing import Any

import zmq

from coordinator.client import Lib
from proto import limits
from tests.faults.conftest import EventTap, FaultFleet
from tests.faults.raw_client import RawClient
from tests.faults.test_coordinator_restart import adopted, restart_coordinator
from tests.helpers import Recorder, wait_for

#: the leases of the clients these tests make, and what the coordinator may take beyond one
#: (its loop turn, the agents' hangups and deletions, a loaded machine)
LEASE = 2.0
MARGIN = 3.0


def _expired(tap: EventTap, client: bytes) -> list[dict[str, Any]]:
    return [e["data"] for e in tap.drain()
            if e["op"] == "client.expired" and e["data"]["client"] == client.hex()]


def _whole(lib: Lib) -> bool:
    """Every agent holds nothing and has every slot free; the coordinator neither."""
    status = lib.status()
    return (status["accounts"] == status["calls"] == status.get("media", 0) == 0
            and all(a["calls"] == 0 and a["accounts"] == 0 and a["free"] == a["capacity"]
                    for a in status["agents"]))


def test_a_killed_clients_objects_are_released_within_its_lease(fleet2: FaultFleet) -> None:
    lib, tap = fleet2.lib, fleet2.tap()
    child = subprocess.Popen([sys.executable, "-m", "tests.faults.lease_client", lib.url,
                              str(LEASE)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("READY "), line
        held = json.loads(line[6:])
        status = lib.status()
        assert (status["accounts"], status["calls"]) == (2, 2), status
        # the tap has a subscription too (the defaults: fields older coordinators lack)
        assert (status.get("media", 1), status.get("subscriptions", 2)) == (1, 2), status
    finally:
        child.kill()
        killed = time.monotonic()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    wait_for(lambda: _whole(lib), LEASE + MARGIN, "the killed client's objects to be released")
    assert time.monotonic() - killed <= LEASE + MARGIN
    assert lib.status()["subscriptions"] == 1  # the tap's alone
    tap.wait(lambda events: any(e["op"] == "client.expired" for e in events), MARGIN,
             "the client.expired event")
    (event,) = [e["data"] for e in tap.drain() if e["op"] == "client.expired"]
    assert {k: event[k] for k in ("accounts", "buddies", "calls", "media", "subscriptions",
                                  "runs", "kept")} == {
        "accounts": 2, "buddies": 1, "calls": 2, "media": 1, "subscriptions": 1, "runs": 0,
        "kept": 0}, event
    assert event["lease"] == LEASE and LEASE <= event["idle"] < LEASE + MARGIN
    # the call was hung up at its agents: both legs ended at the tap too
    assert tap.terminal(held["call"])


def test_a_client_that_reconnects_within_its_lease_keeps_its_objects(fleet2: FaultFleet) -> None:
    lib, tap = fleet2.lib, fleet2.tap()
    rid = f"keeper-{secrets.token_hex(4)}".encode()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        client = RawClient(ctx, lib.url, rid)
        lease, _ = client.ask("client.lease", {"lease": LEASE}, "lease")
        cid = lib.status()["coordinator"]
        assert lease["ok"] and lease["result"] == {"lease": LEASE, "fresh": True,
                                                   "coordinator": cid}, lease
        made, _ = client.ask("acc.create", {"uri": "sip:keeper@127.0.0.1"}, "make")
        assert made["ok"], made
        started = time.monotonic()
        for n in range(3):  # away for most of a lease, three times over: 1.5 leases in all
            client.close()
            time.sleep(LEASE * 0.6)  # the scenario itself: a client away, then back
            client = RawClient(ctx, lib.url, rid)
            status, _ = client.ask("lib.status", {}, f"back-{n}")
            assert status["result"]["accounts"] == 1, status
        assert time.monotonic() - started > LEASE * 1.5
        again, _ = client.ask("client.lease", {}, "lease-again")
        assert again["result"] == {"lease": LEASE, "fresh": False,  # the same lease
                                   "coordinator": cid}, again
        client.close()
        gone = time.monotonic()
        wait_for(lambda: lib.status()["accounts"] == 0, LEASE + MARGIN,
                 "the account of the client that stayed away")
        assert time.monotonic() - gone >= LEASE * 0.9
        tap.wait(lambda events: bool(_expired(tap, rid)), MARGIN, "its client.expired")
        assert _expired(tap, rid)[0]["accounts"] == 1
    finally:
        ctx.destroy(0)


def test_a_persistent_object_outlives_its_creator_and_an_admin_deletes_it(
        fleet2: FaultFleet) -> None:
    lib, tap = fleet2.lib, fleet2.tap()
    owner = Lib.connect(lib.url, lease=LEASE)
    try:
        keep = owner.create_account("sip:keep@127.0.0.1", auto_answer=200, persistent=True)
        caller = owner.create_account("sip:caller@127.0.0.1", persistent=True)
        owner.create_account("sip:temp@127.0.0.1")
        tone = owner.create_tone(440, agent=keep.agent, persistent=True)
        owner.create_tone(550, agent=keep.agent)
        rec = Recorder()
        call = caller.make_call(keep.contact, cb=rec, persistent=True)
        wait_for(lambda: rec.reached("CONFIRMED"), 10, "the persistent call to be answered")
        owner_id = owner.session.conn.prefix
    finally:
        owner.destroy()  # no renewal from now on: as if it had crashed
    wait_for(lambda: lib.status()["accounts"] == 2, LEASE + MARGIN, "the temporary account to go")
    (event,) = [e["data"] for e in tap.drain() if e["op"] == "client.expired"]
    assert (event["accounts"], event["calls"], event["media"], event["kept"]) == (1, 0, 1, 5), event
    assert lib.status()["media"] == 1  # the persistent tone
    assert event["client"] == f"client/{owner_id}".encode().hex()
    assert lib.status()["calls"] == 2 and rec.last() == "CONFIRMED", "the call goes on"
    # an admin (without CURVE, any local client) hangs the call up as it is...
    lib.request("call.hangup", {"call": call.id})
    wait_for(lambda: lib.status()["calls"] == 0, 10, "the persistent call to end")
    # ... and takes the orphaned accounts over, then deletes them
    adopted = lib.request("client.adopt", {})
    assert adopted == {"accounts": sorted([keep.id, caller.id]), "calls": [], "media": [tone]}
    assert lib.request("client.adopt", {}) == {"accounts": [], "calls": [], "media": []}
    for acc in adopted["accounts"]:
        lib.request("acc.delete", {"acc": acc})
    lib.tone_destroy(tone)
    wait_for(lambda: _whole(lib), 10, "the fleet to hold nothing")


def test_persistence_outlives_a_coordinator_restart(fleet2: FaultFleet) -> None:
    """The agents keep each object's persistent flag: a restarted coordinator adopts it as such,
    and when the creator (gone before the restart) does not come back within the lease it gave
    it, only the persistent account stays."""
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None
    owner = Lib.connect(lib.url, lease=60.0)  # long: only the restart ends it
    try:
        keep = owner.create_account("sip:keep@127.0.0.1", auto_answer=200, persistent=True)
        owner.create_account("sip:temp@127.0.0.1")
    finally:
        owner.destroy()
    restart_coordinator(local, "--adopt-window", "1")
    wait_for(lambda: adopted(lib, 2, 0), 15, "the new coordinator to adopt both accounts")
    # the owner's lease starts again at LEASE_S (the new coordinator never heard its own)
    wait_for(lambda: lib.status()["accounts"] == 1, limits.LEASE_S + MARGIN + 2,
             "the account that was not persistent to go")
    assert lib.request("client.adopt", {})["accounts"] == [keep.id]
    lib.request("acc.delete", {"acc": keep.id})
    wait_for(lambda: _whole(lib), 10, "the fleet to hold nothing")
