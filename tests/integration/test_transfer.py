"""Blind transfer (REFER) with three parties on three agents: bob, called by alice, transfers her
to carol; the final states of all three calls are asserted, and the transferor's progress
reports. A per-account policy rejects REFERs instead. Attended transfer (REFER with Replaces):
alice, in calls with bob and carol, hands bob over to carol; carol's policy may refuse."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import ReplaceAnswerer, ReplaceRecorder, TransferAnswerer, TransferRecorder


def _alice_calls_bob(lib3: Lib, carols: Answerer) -> tuple[Any, Any, TransferRecorder, Any,
                                                            TransferRecorder]:
    """alice (who accepts REFERs), bob and carol on three agents; alice's call to bob answered.
    Returns alice, bob's call, its recorder, carol and alice's recorder."""
    bobs = TransferAnswerer(codes=(200,))
    alice = lib3.create_account("sip:alice@127.0.0.1")
    alice.set_policy(transfer="accept")  # the transferee opts in (REFERs are refused by default)
    bob = lib3.create_account("sip:bob@127.0.0.1", cb=bobs)
    carol = lib3.create_account("sip:carol@127.0.0.1", cb=carols)
    assert len({alice.agent, bob.agent, carol.agent}) == 3, "three parties on three agents"
    out = TransferRecorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(bobs.recorders)
             and bobs.recorders[0].reached("CONFIRMED"), 10, "alice and bob CONFIRMED")
    bob_rec = bobs.recorders[0]
    assert isinstance(bob_rec, TransferRecorder)
    return alice, bobs.calls[0], bob_rec, carol, out


def test_blind_transfer_between_three_agents(lib3: Lib) -> None:
    carols = Answerer(codes=(180, 200))
    alice, bob_call, bob_rec, carol, out = _alice_calls_bob(lib3, carols)

    bob_call.transfer(carol.contact)
    wait_for(lambda: bool(out.new_calls) and out.new_calls[0][1].reached("CONFIRMED")
             and bool(carols.recorders) and carols.recorders[0].reached("CONFIRMED"), 15,
             "alice's new call to carol CONFIRMED on both sides")
    wait_for(lambda: bool(bob_rec.progress) and bob_rec.progress[-1][1], 10,
             "the final transfer report to bob")
    assert out.requests == [(carol.contact, 202)]
    assert bob_rec.progress[-1] == (200, True)
    assert all(not final for _, final in bob_rec.progress[:-1])

    bob_call.hangup()  # the transferor leaves
    wait_for(lambda: out.last() == "DISCONNECTED" and bob_rec.last() == "DISCONNECTED", 10,
             "the alice-bob call to end")
    new_call, new_rec = out.new_calls[0]
    carol_rec = carols.recorders[0]
    assert new_call.agent == alice.agent and new_call.account is alice
    assert new_rec.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED"]
    assert carol_rec.names() == ["INCOMING", "EARLY", "CONNECTING", "CONFIRMED"]
    assert new_call.info().sip_call_id == carols.calls[0].info().sip_call_id != ""
    assert out.names() == ["CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert bob_rec.names() == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert lib3.status()["calls"] == 2  # alice-carol, seen from both ends
    new_call.hangup()
    wait_for(lambda: new_rec.last() == "DISCONNECTED" and carol_rec.last() == "DISCONNECTED",
             10, "the alice-carol call to end")
    assert lib3.status()["calls"] == 0


def test_blind_transfer_without_progress_reports(lib3: Lib) -> None:
    """refer_sub=False (Refer-Sub: false): the transferee accepts without a subscription, so
    bob hears one final 200 when alice accepts and no NOTIFY after it; alice still calls carol."""
    carols = Answerer(codes=(180, 200))
    _, bob_call, bob_rec, carol, out = _alice_calls_bob(lib3, carols)
    bob_call.transfer(carol.contact, refer_sub=False)
    wait_for(lambda: bool(out.new_calls) and out.new_calls[0][1].reached("CONFIRMED")
             and bool(carols.recorders) and carols.recorders[0].reached("CONFIRMED"), 15,
             "alice's new call to carol CONFIRMED on both sides")
    assert out.requests == [(carol.contact, 202)]
    assert bob_rec.progress == [(200, True)]  # with NOTIFYs: 100, 180 and 200 would follow
    new_call, new_rec = out.new_calls[0]
    for call in (bob_call, new_call):
        call.hangup()
    wait_for(lambda: new_rec.last() == "DISCONNECTED" and bob_rec.last() == "DISCONNECTED"
             and carols.recorders[0].last() == "DISCONNECTED", 10, "both calls to end")
    assert bob_rec.progress == [(200, True)]
    assert lib3.status()["calls"] == 0


def test_transfer_policy_rejects_refer(lib3: Lib) -> None:
    bobs = Answerer(codes=(200,))
    alice = lib3.create_account("sip:alice@127.0.0.1")
    bob = lib3.create_account("sip:bob@127.0.0.1", cb=bobs)
    alice.set_policy(transfer="reject", transfer_code=603)
    out = TransferRecorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(bobs.calls), 10, "the call CONFIRMED")
    bob_call, bob_rec = bobs.calls[0], TransferRecorder()
    bob_call.set_callback(bob_rec)
    bob_call.transfer("sip:carol@127.0.0.1")
    wait_for(lambda: bool(out.requests) and bool(bob_rec.progress) and bob_rec.progress[-1][1], 10,
             "the refusal on both sides")
    assert out.requests == [("sip:carol@127.0.0.1", 603)]
    assert bob_rec.progress[-1] == (603, True)
    assert out.new_calls == [] and out.last() == "CONFIRMED"
    assert lib3.status()["calls"] == 2
    # accept again: the policy is per account and changes at once
    alice.set_policy(transfer="accept")
    with pytest.raises(Error) as exc:
        lib3.request("acc.set_policy", {"acc": alice.id, "transfer": "maybe"})
    assert exc.value.err_code == "E_BAD_ARGS"
    bob_call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")


def test_transfer_needs_an_answered_call(lib: Lib) -> None:
    answerer = Answerer(codes=(180,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("EARLY"), 10, "the call to ring")
    with pytest.raises(Error) as exc:
        call.transfer("sip:carol@127.0.0.1")
    assert exc.value.err_code == "E_WRONG_STATE"
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")


def _two_legs(lib3: Lib) -> tuple[Any, ...]:
    """alice on one agent in answered calls with bob and with carol (each on an agent of its
    own): (alice, bob, carol, bob's answerer, carol's answerer, alice-bob call and recorder,
    alice-carol call and recorder)."""
    bobs, carols = TransferAnswerer(codes=(200,)), ReplaceAnswerer()
    alice = lib3.create_account("sip:alice@127.0.0.1")
    bob = lib3.create_account("sip:bob@127.0.0.1", cb=bobs)
    bob.set_policy(transfer="accept")  # bob, the transferee, opts in to REFERs
    carol = lib3.create_account("sip:carol@127.0.0.1", cb=carols)
    assert len({alice.agent, bob.agent, carol.agent}) == 3, "three parties on three agents"
    to_bob, to_carol = TransferRecorder(), Recorder()
    ab = alice.make_call(bob.contact, cb=to_bob)
    ac = alice.make_call(carol.contact, cb=to_carol)
    wait_for(lambda: to_bob.reached("CONFIRMED") and to_carol.reached("CONFIRMED")
             and len(bobs.recorders) == 1 and bobs.recorders[0].reached("CONFIRMED")
             and len(carols.recorders) == 1 and carols.recorders[0].reached("CONFIRMED"), 15,
             "alice's two calls CONFIRMED on both sides")
    assert ab.agent == ac.agent == alice.agent
    return alice, bob, carol, bobs, carols, ab, to_bob, ac, to_carol


def test_attended_transfer_between_three_agents(lib3: Lib) -> None:
    alice, bob, carol, bobs, carols, ab, to_bob, ac, to_carol = _two_legs(lib3)
    bob_rec, carol_rec = bobs.recorders[0], carols.recorders[0]
    assert isinstance(bob_rec, TransferRecorder) and isinstance(carol_rec, ReplaceRecorder)

    ab.transfer_to_call(ac)  # bob, call carol in place of me
    wait_for(lambda: bool(bob_rec.new_calls) and bob_rec.new_calls[0][1].reached("CONFIRMED")
             and bool(carol_rec.replacements)
             and carol_rec.replacements[0][1].reached("CONFIRMED"), 15,
             "bob's new call to carol CONFIRMED on both sides")
    wait_for(lambda: bool(to_bob.progress) and to_bob.progress[-1][1], 10,
             "the final transfer report to alice")
    wait_for(lambda: to_carol.last() == "DISCONNECTED" and carol_rec.last() == "DISCONNECTED",
             10, "the replaced alice-carol call to end")
    assert to_bob.progress[-1] == (200, True)
    assert len(bob_rec.requests) == 1 and bob_rec.requests[0][1] == 202
    assert "Replaces=" in bob_rec.requests[0][0]  # the Refer-To carries the dialog to replace
    assert carol_rec.replace_requests == [200]

    ab.hangup()  # the transferor leaves
    wait_for(lambda: to_bob.last() == "DISCONNECTED" and bob_rec.last() == "DISCONNECTED", 10,
             "the alice-bob call to end")
    (b_new, b_new_rec), (c_new, c_new_rec) = bob_rec.new_calls[0], carol_rec.replacements[0]
    assert b_new.account is bob and c_new.account is carol and carol_rec.call is not None
    assert carol_rec.call.replaced_by is c_new and c_new.agent == carol.agent
    assert b_new_rec.names() == ["CALLING", "CONNECTING", "CONFIRMED"]
    assert c_new_rec.names() == ["CONNECTING", "CONFIRMED"]  # answered by pjsua at once
    assert b_new.info().sip_call_id == c_new.info().sip_call_id != ""
    # alice has no call left; every old leg ended once
    assert to_bob.names()[-1] == to_carol.names()[-1] == "DISCONNECTED"
    assert [bob_rec.names().count("DISCONNECTED"), carol_rec.names().count("DISCONNECTED")] == [
        1, 1]
    assert lib3.status()["calls"] == 2  # bob-carol, seen from both ends
    b_new.hangup()
    wait_for(lambda: b_new_rec.last() == "DISCONNECTED" and c_new_rec.last() == "DISCONNECTED",
             10, "the bob-carol call to end")
    assert lib3.status()["calls"] == 0


def test_replaces_policy_rejects_and_nothing_is_lost(lib3: Lib) -> None:
    alice, bob, carol, bobs, carols, ab, to_bob, ac, to_carol = _two_legs(lib3)
    bob_rec, carol_rec = bobs.recorders[0], carols.recorders[0]
    assert isinstance(bob_rec, TransferRecorder) and isinstance(carol_rec, ReplaceRecorder)
    carol.set_policy(replaces="reject", replaces_code=486)
    ab.transfer_to_call(ac)
    wait_for(lambda: bool(to_bob.progress) and to_bob.progress[-1][1], 15,
             "the final (failed) transfer report to alice")
    assert to_bob.progress[-1] == (486, True)
    assert carol_rec.replace_requests == [486] and carol_rec.replacements == []
    wait_for(lambda: bool(bob_rec.new_calls) and bob_rec.new_calls[0][1].last() == "DISCONNECTED",
             10, "bob's refused call to end")
    # alice's two calls are still up on every side
    assert [r.last() for r in (to_bob, to_carol, bob_rec, carol_rec)] == ["CONFIRMED"] * 4
    assert lib3.status()["calls"] == 4

    with pytest.raises(Error) as exc:  # a call cannot replace itself
        ab.transfer_to_call(ab)
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:  # carol's leg is on another agent than alice's
        ab.transfer_to_call(carols.calls[0])
    assert exc.value.err_code == "E_NOT_FOUND"
    with pytest.raises(Error) as exc:
        lib3.request("call.transfer_replaces", {"call": ab.id, "dest_call": "nope"})
    assert exc.value.err_code == "E_NOT_FOUND"
    for call in (ab, ac):
        call.hangup()
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in (to_bob, to_carol, bob_rec,
                                                              carol_rec)), 10, "all calls to end")
    assert lib3.status()["calls"] == 0
