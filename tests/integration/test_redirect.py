"""An account's redirect policy, against SIPp answering INVITE with 302 Moved Temporarily and a
Contact at a second real peer (another account): follow sends the call on to that peer, stop
(the default) ends it with 302 and the peer never sees an INVITE."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coordinator.client import Account, Call, Error, Lib
from tests.helpers import Answerer, Recorder, stop, wait_for
from tests.ua_helpers import holds_for, start_redirector


class RedirectRecorder(Recorder):
    """A Recorder that also keeps the redirects reported to the call."""

    def __init__(self) -> None:
        super().__init__()
        self.redirects: list[tuple[str, str]] = []
        self.redirect_lock = threading.Lock()

    def on_call_redirected(self, target: str, decision: str) -> None:
        with self.redirect_lock:
            self.redirects.append((target, decision))


def _call_through_302(alice: Account, target: str, tmp_path: Path) -> tuple[Call, RedirectRecorder]:
    """SIPp redirects one INVITE of alice's to ``target``; it must see the ACK and exit 0."""
    proc, port = start_redirector(target, tmp_path)
    rec = RedirectRecorder()
    try:
        call = alice.make_call(f"sip:redirect@127.0.0.1:{port}", cb=rec)
        code = proc.wait(40)
    finally:
        stop(proc)
    trace = (tmp_path / "messages.log").read_text(errors="replace")
    assert code == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-2000:] + trace[-3000:]
    assert "SIP/2.0 302 Moved Temporarily" in trace
    wait_for(lambda: bool(rec.redirects), 15, "the call.redirected event")
    return call, rec


def test_redirect_followed_reaches_the_second_peer(lib: Lib, tmp_path: Path) -> None:
    bob_cb = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    alice.set_policy(redirect="follow")
    call, rec = _call_through_302(alice, bob.contact, tmp_path)
    assert rec.redirects == [(bob.contact, "follow")]
    wait_for(lambda: rec.reached("CONFIRMED") and bool(bob_cb.recorders)
             and bob_cb.recorders[0].reached("CONFIRMED"), 20, "the call to be answered by bob")
    assert call.info().state == "CONFIRMED"
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED"
             and bob_cb.recorders[0].last() == "DISCONNECTED", 15, "the end of the call")


def test_redirect_stopped_by_default_ends_with_302(lib: Lib, tmp_path: Path) -> None:
    bob_cb = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    _, rec = _call_through_302(alice, bob.contact, tmp_path)
    assert rec.redirects == [(bob.contact, "stop")]
    wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the call to end")
    assert rec.states[-1] == ("DISCONNECTED", 302) and not rec.reached("CONFIRMED")
    assert holds_for(lambda: not bob_cb.calls, 2.0), "bob got an INVITE"


def test_bad_redirect_policy_is_refused_and_changes_nothing(lib: Lib, tmp_path: Path) -> None:
    bob_cb = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    alice.set_policy(redirect="follow")
    with pytest.raises(Error) as err:
        alice.set_policy(redirect="sideways")
    assert err.value.err_code == "E_BAD_ARGS"
    _, rec = _call_through_302(alice, bob.contact, tmp_path)
    assert rec.redirects[0][1] == "follow"
    wait_for(lambda: rec.reached("CONFIRMED"), 20, "the redirected call to be answered")
