"""What agents cannot provoke in each other, provoked by SIPp scenarios: an incoming REFER that
the account's policy accepts or refuses, a re-INVITE that puts the agent on hold, and OPTIONS.
Each scenario checks the agent's answers on the wire (SIPp fails the call otherwise); the test
checks the events the agent reported, and the messages SIPp traced."""

from __future__ import annotations

from pathlib import Path

from coordinator.client import Account, Lib
from tests.helpers import Answerer, start_sipp, stop, wait_for
from tests.ua_helpers import TransferAnswerer

SCENARIOS = Path(__file__).parent / "scenarios"


def _run(scenario: str, account: Account, tmp_path: Path, *extra: str) -> str:
    """Run one call of ``scenario`` against ``account``; SIPp must succeed. Its message trace."""
    hostport = account.contact.split("@", 1)[1]
    user = account.contact.split(":", 1)[1].split("@", 1)[0]
    proc = start_sipp([hostport, "-sf", str(SCENARIOS / scenario), "-s", user, "-m", "1",
                       "-timeout", "30", "-timeout_error", "-trace_msg",
                       "-message_file", str(tmp_path / "messages.log"), *extra], tmp_path)
    try:
        code = proc.wait(40)
    finally:
        stop(proc)
    out = (tmp_path / "sipp.out").read_text(errors="replace")[-2000:]
    trace = (tmp_path / "messages.log").read_text(errors="replace")
    assert code == 0, out + trace[-3000:]
    return trace


def test_incoming_refer_accepted_by_policy(lib: Lib, tmp_path: Path) -> None:
    bob_cb = TransferAnswerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    bob.set_policy(transfer="accept")  # the opt-in: by default a REFER is refused
    carol_cb = Answerer(codes=())
    carol = lib.create_account("sip:carol@127.0.0.1", cb=carol_cb, auto_answer=200)
    trace = _run("uac_refer.xml", bob, tmp_path, "-key", "refer_to", carol.contact)
    assert "SIP/2.0 202" in trace and "Subscription-State: terminated" in trace
    rec = bob_cb.recorders[0]
    wait_for(lambda: bool(rec.requests), 10, "the transfer request event")
    dst, code = rec.requests[0]
    assert code == 202 and carol.contact in dst
    new_call, new_rec = rec.new_calls[0]
    wait_for(lambda: new_rec.reached("CONFIRMED") and bool(carol_cb.recorders), 10,
             "the transferred call to reach carol")
    assert new_call.agent == bob.agent
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "SIPp's BYE")
    new_call.hangup()
    wait_for(lambda: new_rec.last() == "DISCONNECTED", 10, "the transferred call to end")


def test_incoming_refer_refused_by_policy(lib: Lib, tmp_path: Path) -> None:
    bob_cb = TransferAnswerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    bob.set_policy(transfer="reject", transfer_code=603)
    trace = _run("uac_refer.xml", bob, tmp_path, "-key", "refer_to", "sip:carol@127.0.0.1:9")
    assert "SIP/2.0 603" in trace and "NOTIFY sip:" not in trace
    rec = bob_cb.recorders[0]
    wait_for(lambda: bool(rec.requests) and rec.last() == "DISCONNECTED", 10,
             "the refused transfer request and the end of the call")
    assert rec.requests[0][1] == 603 and rec.new_calls == []


def test_incoming_refer_refused_by_default_places_no_call(lib: Lib, tmp_path: Path) -> None:
    """A stranger whose call was answered asks the agent to call elsewhere (toll fraud): without
    the account's opt-in the REFER gets 603 and no call leaves the fleet."""
    bob_cb = TransferAnswerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    carol_cb = Answerer(codes=())
    carol = lib.create_account("sip:carol@127.0.0.1", cb=carol_cb, auto_answer=200)
    trace = _run("uac_refer.xml", bob, tmp_path, "-key", "refer_to", carol.contact)
    assert "SIP/2.0 603" in trace and "NOTIFY sip:" not in trace
    rec = bob_cb.recorders[0]
    wait_for(lambda: bool(rec.requests) and rec.last() == "DISCONNECTED", 10,
             "the refused transfer request and the end of the call")
    assert rec.requests[0][1] == 603 and rec.new_calls == []
    assert carol_cb.recorders == [] and lib.status()["calls"] == 0


def test_hold_from_sipp_is_remote_hold_and_answered_recvonly(lib: Lib, tmp_path: Path) -> None:
    bob_cb = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb, auto_answer=200)
    trace = _run("uac_hold.xml", bob, tmp_path)
    assert "a=sendonly" in trace
    rec = bob_cb.recorders[0]
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "SIPp's BYE")
    assert rec.media[:2] == ["ACTIVE", "REMOTE_HOLD"], rec.media


def test_options_are_answered_with_allow(lib: Lib, tmp_path: Path) -> None:
    bob = lib.create_account("sip:bob@127.0.0.1")
    trace = _run("uac_options.xml", bob, tmp_path)
    allow = next(line for line in trace.splitlines() if line.startswith("Allow:"))
    for method in ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REFER", "NOTIFY", "MESSAGE"):
        assert method in allow, allow
