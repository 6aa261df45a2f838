"""Real calls between real agents through the coordinator, with whole state sequences asserted."""

from __future__ import annotations

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, wait_for


@pytest.mark.parametrize("who_hangs_up", ["caller", "callee"])
def test_call_between_two_agents(lib: Lib, who_hangs_up: str) -> None:
    answerer = Answerer(codes=(180, 200))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    assert alice.agent != bob.agent, "placement spreads accounts over agents"

    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    assert call.agent == alice.agent
    wait_for(lambda: out.reached("CONFIRMED") and bool(answerer.recorders)
             and answerer.recorders[0].reached("CONFIRMED"), 10, "both sides CONFIRMED")
    incoming = answerer.calls[0]
    assert incoming.agent == bob.agent
    assert incoming.info().sip_call_id == call.info().sip_call_id != ""
    wait_for(lambda: out.media == ["ACTIVE"], 5, "caller media ACTIVE")

    info = call.info(refresh=True)
    assert info.state == "CONFIRMED" and info.role == "caller" and info.media_state == "ACTIVE"
    assert info.remote_uri.startswith("sip:bob@")

    (call if who_hangs_up == "caller" else incoming).hangup()
    inn = answerer.recorders[0]
    wait_for(lambda: out.last() == "DISCONNECTED" and inn.last() == "DISCONNECTED", 10,
             "both sides DISCONNECTED")
    assert out.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert inn.names() == ["INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert out.states[1] == ("EARLY", 180)
    assert out.states[3] == ("CONFIRMED", 200)
    assert inn.media == ["ACTIVE"]
    assert not call.is_valid() and not incoming.is_valid()
    # the ended call is gone from the fleet
    with pytest.raises(Error) as exc:
        lib.request("call.info", {"call": call.id})
    assert exc.value.err_code == "E_NOT_FOUND"
    assert lib.status()["calls"] == 0
    assert lib.callback_errors == []


def test_rejected_call_reports_486(lib: Lib) -> None:
    answerer = Answerer(codes=(486,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the caller's call to end")
    assert out.names() == ["CALLING", "DISCONNECTED"]
    assert out.states[-1] == ("DISCONNECTED", 486)
    wait_for(lambda: bool(answerer.recorders) and answerer.recorders[0].last() == "DISCONNECTED",
             5, "the callee's call to end")
    assert answerer.recorders[0].names() == ["INCOMING", "DISCONNECTED"]


def test_auto_answer_and_extra_headers(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out, hdr_list=[("X-Callfleet-Test", "yes")])
    wait_for(lambda: out.reached("CONFIRMED"), 10, "auto-answered call CONFIRMED")
    assert out.names() == ["CALLING", "CONNECTING", "CONFIRMED"]
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "call end")


def test_answer_errors_are_reported(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "call CONFIRMED")
    with pytest.raises(Error) as exc:
        call.answer(200)  # an outgoing call cannot be answered
    assert exc.value.err_code == "E_WRONG_STATE"
    assert exc.value.op_name == "call.answer" and exc.value.obj_name == call.id
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "call end")


def test_pjsip_rejects_a_malformed_uri(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    with pytest.raises(Error) as exc:
        alice.make_call("sip:@@bad@@")
    assert exc.value.err_code == "E_PJSIP"
    assert exc.value.status != 0
    assert lib.status()["calls"] == 0


def test_deleting_an_account_ends_its_calls(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "call CONFIRMED")
    alice.delete()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end with its account")
    with pytest.raises(Error) as exc:
        alice.make_call(bob.contact)
    assert exc.value.err_code == "E_NOT_FOUND"
