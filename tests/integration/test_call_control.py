"""Call control between two agents: hold and unhold from either side, re-INVITE and UPDATE,
with the media states asserted on both sides; and the errors of a call in the wrong state."""

from __future__ import annotations

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import connected_pair, hang_up


def test_hold_and_unhold_from_both_sides(lib: Lib) -> None:
    call, out, incoming, inn = connected_pair(lib)

    call.hold()
    wait_for(lambda: out.media[-1:] == ["LOCAL_HOLD"] and inn.media[-1:] == ["REMOTE_HOLD"], 10,
             "alice LOCAL_HOLD, bob REMOTE_HOLD")
    assert call.info().media_state == "LOCAL_HOLD" and call.info().media_dir == "send"
    assert incoming.info().media_state == "REMOTE_HOLD" and incoming.info().media_dir == "recv"
    assert call.info(refresh=True).media_state == "LOCAL_HOLD"
    call.unhold()
    wait_for(lambda: len(out.media) == 3 and len(inn.media) == 3, 10, "alice's unhold")

    incoming.hold()
    wait_for(lambda: len(out.media) == 4 and len(inn.media) == 4, 10, "bob's hold")
    incoming.unhold()
    wait_for(lambda: len(out.media) == 5 and len(inn.media) == 5, 10, "bob's unhold")

    assert out.media == ["ACTIVE", "LOCAL_HOLD", "ACTIVE", "REMOTE_HOLD", "ACTIVE"]
    assert inn.media == ["ACTIVE", "REMOTE_HOLD", "ACTIVE", "LOCAL_HOLD", "ACTIVE"]
    assert call.info().media_dir == incoming.info().media_dir == "sendrecv"
    # the call itself never left CONFIRMED
    assert out.names() == ["CALLING", "CONNECTING", "CONFIRMED"]
    assert inn.names() == ["INCOMING", "CONNECTING", "CONFIRMED"]
    hang_up(call, out, inn)


def test_reinvite_and_update_keep_the_call_and_its_hold_state(lib: Lib) -> None:
    call, out, incoming, inn = connected_pair(lib)
    call.reinvite(hdr_list=[("X-Callfleet-Test", "reinvite")])
    wait_for(lambda: len(out.media) == 2 and len(inn.media) == 2, 10, "the re-INVITE's media")
    incoming.update()
    wait_for(lambda: len(out.media) == 3 and len(inn.media) == 3, 10, "the UPDATE's media")
    assert out.media == inn.media == ["ACTIVE"] * 3

    call.hold()
    wait_for(lambda: out.media[-1:] == ["LOCAL_HOLD"] and inn.media[-1:] == ["REMOTE_HOLD"], 10,
             "the hold")
    call.reinvite()  # a new offer that keeps the hold
    wait_for(lambda: len(out.media) == 5 and len(inn.media) == 5, 10, "the re-INVITE on hold")
    assert out.media[-1] == "LOCAL_HOLD" and inn.media[-1] == "REMOTE_HOLD"
    call.unhold()
    wait_for(lambda: out.media[-1:] == ["ACTIVE"] and inn.media[-1:] == ["ACTIVE"], 10,
             "the unhold")
    assert out.names()[-1] == inn.names()[-1] == "CONFIRMED"
    hang_up(incoming, out, inn)


def test_call_control_needs_an_answered_call(lib: Lib) -> None:
    answerer = Answerer(codes=(180,))  # rings, never answers
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("EARLY") and bool(answerer.calls), 10, "the call to ring")
    # (call.update is allowed while the call rings, as pjsua's: test_session_options)
    for method in (call.hold, call.unhold, call.reinvite, answerer.calls[0].hold):
        with pytest.raises(Error) as exc:
            method()
        assert exc.value.err_code == "E_WRONG_STATE", method
        assert exc.value.op_name.startswith("call.")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
    with pytest.raises(Error) as exc:
        call.hold()  # the call is gone
    assert exc.value.err_code == "E_NOT_FOUND"
