"""Buddies and presence: alice watches bob (SUBSCRIBE/NOTIFY) between two agents, bob publishes
online/offline, an activity and a note; bob's subscribe policy rejects a watcher; a SUBSCRIBE
to a registered AOR proxied by Kamailio (whose configuration loads no presence server: the
agents are the presence agents); and the errors of unknown buddies."""

from __future__ import annotations

import threading

import pytest

from coordinator.client import Buddy, BuddyCallback, BuddyInfo, Error, Lib
from tests.helpers import wait_for
from tests.kamailio import Kamailio
from tests.ua_helpers import RegRecorder


class BuddyRec(BuddyCallback):
    """Keeps every BuddyInfo the buddy's on_state() saw."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[BuddyInfo] = []
        self.lock = threading.Lock()

    def on_state(self) -> None:
        assert self.buddy is not None
        with self.lock:
            self.seen.append(self.buddy.info())

    def last(self) -> BuddyInfo | None:
        with self.lock:
            return self.seen[-1] if self.seen else None

    def has(self, **want: object) -> bool:
        last = self.last()
        return last is not None and all(getattr(last, k) == v for k, v in want.items())


class Watched(RegRecorder):
    """Records the SUBSCRIBEs the account's policy answered (and its registrations)."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribes: list[tuple[str, int]] = []

    def on_incoming_subscribe(self, from_uri: str, code: int) -> None:
        self.subscribes.append((from_uri, code))


def test_presence_between_two_agents(lib: Lib) -> None:
    watched = Watched()
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watched)
    assert alice.agent != bob.agent
    rec = BuddyRec()
    buddy = alice.add_buddy(bob.contact, cb=rec, subscribe=True)
    assert isinstance(buddy, Buddy) and buddy.is_valid()
    # an account is offline until it says otherwise (as in pjsua)
    wait_for(lambda: rec.has(online_status="offline", sub_state="ACTIVE"), 10,
             "the subscription active, bob offline")
    assert len(watched.subscribes) == 1 and watched.subscribes[0][1] == 200
    assert "alice@127.0.0.1" in watched.subscribes[0][0]
    last = rec.last()
    assert last is not None and last.subscribed and last.uri == bob.contact
    bob.set_basic_status(True)
    wait_for(lambda: rec.has(online_status="online"), 10, "bob online")
    bob.set_basic_status(False)
    wait_for(lambda: rec.has(online_status="offline"), 10, "bob offline")
    bob.set_presence_status(True, activity="busy", pres_text="in a meeting")
    wait_for(lambda: rec.has(online_status="online", note="in a meeting", activity="busy"), 10,
             "bob online, busy, with a note")
    now = buddy.info(refresh=True)
    assert (now.online_status, now.note, now.activity, now.sub_state) == (
        "online", "in a meeting", "busy", "ACTIVE")

    buddy.unsubscribe()
    wait_for(lambda: rec.has(sub_state="TERMINATED"), 10, "the subscription to end")
    assert buddy.info(refresh=True).subscribed is False
    buddy.subscribe()  # again: a second SUBSCRIBE, accepted again
    wait_for(lambda: rec.has(sub_state="ACTIVE", online_status="online", note="in a meeting"), 10,
             "active again")
    assert [code for _, code in watched.subscribes] == [200, 200]

    buddy.delete()
    assert not buddy.is_valid()
    with pytest.raises(Error) as exc:
        buddy.info(refresh=True)
    assert (exc.value.err_code, exc.value.obj_name) == ("E_NOT_FOUND", buddy.id)
    assert lib.callback_errors == []


def test_subscribe_policy_rejects_a_watcher(lib: Lib) -> None:
    watched = Watched()
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watched)
    bob.set_policy(subscribe="reject", subscribe_code=403)
    bob.set_basic_status(True)
    rec = BuddyRec()
    buddy = alice.add_buddy(bob.contact, cb=rec)
    assert rec.last() is None  # not subscribed: nothing sent yet
    buddy.subscribe()
    wait_for(lambda: rec.has(sub_state="TERMINATED", sub_term_code=403), 10,
             "the subscription refused with 403")
    assert watched.subscribes and watched.subscribes[-1][1] == 403
    assert buddy.info(refresh=True).online_status != "online"
    # accepted once the policy says so
    bob.set_policy(subscribe="accept")
    buddy.subscribe()
    wait_for(lambda: rec.has(sub_state="ACTIVE", online_status="online"), 10, "accepted now")
    assert watched.subscribes[-1][1] == 200


def test_presence_of_a_registered_aor_through_kamailio(kam: Kamailio, lib: Lib) -> None:
    regs, watched = RegRecorder(), Watched()
    alice = lib.create_account(kam.account("alice"), cb=regs)
    bob = lib.create_account(kam.account("bob"), cb=watched)
    wait_for(lambda: regs.codes() == [200] and watched.codes() == [200], 10,
             "both registered")
    bob.set_basic_status(True)
    rec = BuddyRec()
    alice.add_buddy("sip:bob@127.0.0.1", cb=rec, subscribe=True)  # the AOR
    wait_for(lambda: rec.has(online_status="online", sub_state="ACTIVE"), 10,
             "bob online through the proxy")
    assert kam.requests("SUBSCRIBE", "alice") >= 1  # Kamailio routed it to bob's contact
    bob.set_presence_status(False, pres_text="gone home")
    wait_for(lambda: rec.has(online_status="offline", note="gone home"), 10,
             "the NOTIFY along the record-routed dialog")
    assert kam.requests("NOTIFY", "bob") >= 2


def test_buddy_errors(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    for op, args in (("buddy.info", {"buddy": "nope"}), ("buddy.delete", {"buddy": "nope"}),
                     ("buddy.subscribe", {"buddy": "nope", "subscribe": True}),
                     ("acc.add_buddy", {"acc": "nope", "uri": "sip:bob@127.0.0.1"}),
                     ("acc.set_presence", {"acc": "nope", "online": True})):
        with pytest.raises(Error) as exc:
            lib.request(op, args)
        assert exc.value.err_code == "E_NOT_FOUND", op
    with pytest.raises(Error) as exc:
        alice.add_buddy("not a uri")
    assert exc.value.err_code in ("E_BAD_ARGS", "E_PJSIP")
    with pytest.raises(Error) as exc:
        lib.request("acc.set_presence", {"acc": alice.id, "online": True, "activity": "asleep"})
    assert exc.value.err_code == "E_BAD_ARGS"
    first = alice.add_buddy("sip:bob@127.0.0.1")
    with pytest.raises(Error) as exc:  # the same id for another URI
        lib.request("acc.add_buddy", {"acc": alice.id, "uri": "sip:carol@127.0.0.1",
                                      "buddy": first.id})
    assert exc.value.err_code == "E_DUPLICATE"
    # a retried request with the same id and URI is the same buddy
    assert lib.request("acc.add_buddy", {"acc": alice.id, "uri": "sip:bob@127.0.0.1",
                                         "buddy": first.id}) == {"buddy": first.id}
    assert first.info(refresh=True).uri == "sip:bob@127.0.0.1"
