"""Registered accounts against a real Kamailio (registrar + proxy, digest auth) started by each
test: registration, unregister / re-register, a wrong password (reported, not retried), calls
between registered accounts on different agents routed by Kamailio, and credentials (given to
acc.create or acc.modify) that never leak into events, status or logs."""

from __future__ import annotations

from pathlib import Path

import pytest
import zmq

from coordinator.client import Error, Lib
from tests.helpers import Recorder, wait_for
from tests.kamailio import PASSWORD, Kamailio
from tests.ua_helpers import RegAnswerer, RegRecorder, holds_for


def test_register_unregister_and_register_again(kam: Kamailio, lib: Lib) -> None:
    rec = RegRecorder()
    alice = lib.create_account(kam.account("alice", expires=120), cb=rec)
    wait_for(lambda: rec.codes() == [200], 10, "alice's registration")
    code, reason, active, expires = rec.regs[0]
    assert (code, reason, active) == (200, "OK", True) and 0 < expires <= 120
    info = alice.info()
    assert info.reg_active and info.reg_status == 200 and info.reg_last_err == 0
    # digest: a challenged REGISTER, then one with credentials
    assert kam.requests("REGISTER", "alice") == 2

    alice.set_registration(False)
    wait_for(lambda: len(rec.regs) == 2, 10, "the unregistration")
    assert rec.regs[1] == (200, "OK", False, 0)
    assert not alice.info().reg_active

    alice.set_registration(True)
    wait_for(lambda: len(rec.regs) == 3, 10, "the new registration")
    assert rec.regs[2][:3] == (200, "OK", True)
    assert [r[2] for r in rec.regs] == [True, False, True]

    # an account without a registrar cannot register
    local = lib.create_account("sip:carol@127.0.0.1")
    with pytest.raises(Error) as exc:
        local.set_registration(True)
    assert exc.value.err_code == "E_WRONG_STATE" and exc.value.op_name == "acc.set_registration"
    with pytest.raises(Error) as exc:
        lib.request("acc.set_registration", {"acc": "no-such-account", "renew": True})
    assert exc.value.err_code == "E_NOT_FOUND"


def test_wrong_password_is_reported_and_not_retried(kam: Kamailio, lib: Lib) -> None:
    rec = RegRecorder()
    mallory = lib.create_account(kam.account("mallory", password="wrong"), cb=rec)
    wait_for(lambda: bool(rec.regs), 10, "mallory's registration to fail")
    code, reason, active, expires = rec.regs[0]
    assert code in (401, 403) and not active and expires == 0, rec.regs
    assert reason
    assert mallory.info().reg_last_err != 0  # PJSIP's status says why
    sent = kam.requests("REGISTER", "mallory")
    assert sent == 2  # the challenged one and one answer to the challenge: nothing more
    # no retry storm: during a whole observation window nothing more is sent or reported
    assert holds_for(lambda: kam.requests("REGISTER", "mallory") == sent and len(rec.regs) == 1, 3)
    # an explicit new attempt fails the same way, with the same bounded cost
    mallory.set_registration(True)
    wait_for(lambda: len(rec.regs) == 2, 10, "the second attempt to fail")
    assert rec.regs[1][0] in (401, 403) and kam.requests("REGISTER", "mallory") == sent + 2


def test_call_between_registered_accounts_routed_by_kamailio(kam: Kamailio, lib: Lib) -> None:
    a_rec, answerer = RegRecorder(), RegAnswerer(codes=(180, 200))
    alice = lib.create_account(kam.account("alice"), cb=a_rec)
    bob = lib.create_account(kam.account("bob"), cb=answerer)
    assert alice.agent != bob.agent
    wait_for(lambda: a_rec.codes() == [200] and answerer.regs == [(200, True)], 10,
             "both registrations")

    out = Recorder()
    call = alice.make_call("sip:bob@127.0.0.1", cb=out)  # the AOR: Kamailio finds bob's contact
    wait_for(lambda: out.reached("CONFIRMED") and bool(answerer.recorders)
             and answerer.recorders[0].reached("CONFIRMED"), 10, "both sides CONFIRMED")
    incoming = answerer.calls[0]
    assert incoming.agent == bob.agent and call.agent == alice.agent
    assert incoming.info().remote_uri.find("sip:alice@127.0.0.1") >= 0
    assert kam.requests("INVITE", "alice") == 1
    wait_for(lambda: out.media == ["ACTIVE"], 5, "caller media ACTIVE")
    call.hangup()
    inn = answerer.recorders[0]
    wait_for(lambda: out.last() == "DISCONNECTED" and inn.last() == "DISCONNECTED", 10,
             "both sides DISCONNECTED")
    assert out.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert inn.names() == ["INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert kam.requests("BYE", "alice") == 1  # record-routed: the BYE went through the proxy

    # an AOR nobody registered: Kamailio answers 404
    lost = Recorder()
    alice.make_call("sip:nobody@127.0.0.1", cb=lost)
    wait_for(lambda: lost.last() == "DISCONNECTED", 10, "the call to an unknown AOR to fail")
    assert lost.states[-1] == ("DISCONNECTED", 404)


def test_credentials_never_appear_in_events_status_or_logs(kam: Kamailio, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    lib = Lib.start_local(agents=2)
    assert lib.fleet is not None
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(lib.fleet.events_url)
    frames: list[bytes] = []

    def reg_events() -> int:
        """Registration events seen on the firehose so far (each is a topic and a message)."""
        while sub.poll(0):
            frames.extend(sub.recv_multipart())
        return sum(b"acc.reg_state" in f for f in frames) // 2

    watcher = Lib.connect(lib.url)  # a second client, subscribed to every event
    try:
        watcher.request("events.subscribe", {"snapshot": False})
        recs = [RegRecorder(), RegRecorder()]
        good = lib.create_account(kam.account("alice"), cb=recs[0])
        bad = lib.create_account(kam.account("mallory", password=PASSWORD + "-wrong"),
                                 cb=recs[1])
        wait_for(lambda: bool(recs[0].regs and recs[1].regs), 10, "both registration outcomes")
        assert recs[0].regs[0][0] == 200 and recs[1].regs[0][0] in (401, 403)
        good.modify(kam.account("alice", expires=90))  # acc.modify carries the password too
        wait_for(lambda: len(recs[0].regs) == 2, 10, "the registration of the modified account")
        good.set_registration(False)
        wait_for(lambda: len(recs[0].regs) == 3, 10, "the unregistration")
        seen: list[object] = [lib.status(), lib.agents(), good.info(), bad.info(), repr(good),
                              repr(kam.account("alice")),
                              watcher.request("events.subscribe", {"sub": "snap"})]
        wait_for(lambda: reg_events() >= 4, 5, "the 4 registration events on the firehose")
    finally:
        sub.close(0)
        ctx.term()
        watcher.destroy()
        lib.destroy()
    assert set(lib.exit_codes.values()) == {0}, lib.exit_codes
    for frame in frames:  # topic frames and msgpack message frames
        assert PASSWORD.encode() not in frame
    for item in seen:
        assert PASSWORD not in repr(item), item
    out, err = capfd.readouterr()
    assert PASSWORD not in out and PASSWORD not in err
    for path in tmp_path.iterdir():  # Kamailio's own log and config aside
        if path.name not in ("kamailio.cfg",):
            assert PASSWORD not in path.read_text(errors="replace"), path
