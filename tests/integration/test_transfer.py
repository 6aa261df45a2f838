"""Blind transfer (REFER) with three parties on three agents: bob, called by alice, transfers her
to carol; the final states of all three calls are asserted, and the transferor's progress
reports. A per-account policy rejects REFERs instead."""

from __future__ import annotations

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import TransferAnswerer, TransferRecorder


def test_blind_transfer_between_three_agents(lib3: Lib) -> None:
    bobs, carols = TransferAnswerer(codes=(200,)), Answerer(codes=(180, 200))
    alice = lib3.create_account("sip:alice@127.0.0.1")
    bob = lib3.create_account("sip:bob@127.0.0.1", cb=bobs)
    carol = lib3.create_account("sip:carol@127.0.0.1", cb=carols)
    assert len({alice.agent, bob.agent, carol.agent}) == 3, "three parties on three agents"
    out = TransferRecorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(bobs.recorders)
             and bobs.recorders[0].reached("CONFIRMED"), 10, "alice and bob CONFIRMED")
    bob_call, bob_rec = bobs.calls[0], bobs.recorders[0]
    assert isinstance(bob_rec, TransferRecorder)

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
