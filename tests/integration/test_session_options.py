"""The account's call options against SIPp scenarios written for this project
(tests/integration/scenarios): reliable provisional responses (100rel/PRACK) both ways, an
UPDATE while the call rings, session-timer refreshes by re-INVITE and by UPDATE, SRTP (SDES)
between agents, and a voicemail server's message waiting indication; each checked at the far
end (SIPp's scenario fails on a missing or unexpected message) or in the media (RTP/SAVP
negotiated, packets both ways)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import AccountCallback, AccountConfig, Error, Lib
from tests.helpers import Answerer, Recorder, free_udp_port, start_sipp, stop, wait_for
from tests.integration.conftest import start_fleet

SCENARIOS = Path(__file__).parent / "scenarios"


def _uas(scenario: str, tmp_path: Path, *extra: str) -> tuple[int, object]:
    port = free_udp_port()
    return port, start_sipp(["-sf", str(SCENARIOS / scenario), "-p", str(port), "-m", "1",
                             "-trace_msg", *extra], tmp_path)


def _messages(tmp_path: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in tmp_path.glob("*_messages.log"))


@pytest.mark.parametrize("scenario", ["uas_183_prack_sdp.xml", "uas_183_prack.xml"])
def test_a_reliable_183_is_pracked(lib: Lib, tmp_path: Path, scenario: str) -> None:
    """183 with and without SDP, Require: 100rel: the agent PRACKs it and the call goes on."""
    port, uas = _uas(scenario, tmp_path)
    try:
        alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", require_100rel="optional"))
        rec = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.reached("CONFIRMED"), 10, "the call to be answered after the PRACK")
        assert "EARLY" in rec.names()
        call.hangup()
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        assert re.search(r"Supported:.*100rel", _messages(tmp_path))
        assert "PRACK sip:" in _messages(tmp_path)
    finally:
        stop(uas)


@pytest.mark.parametrize(("setting", "required"), [
    ("no", False), ("optional", False), ("mandatory", True)])
def test_the_100rel_setting_on_outgoing_calls(lib: Lib, tmp_path: Path, setting: str,
                                              required: bool) -> None:
    """mandatory: the INVITE requires 100rel (Require: 100rel); no or optional: it does not
    (PJSIP supports 100rel either way, and PRACKs a reliable 183)."""
    port, uas = _uas("uas_183_prack_sdp.xml", tmp_path)
    try:
        alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", require_100rel=setting))
        rec = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.reached("CONFIRMED"), 10, "the call to be answered")
        call.hangup()
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        invite = _messages(tmp_path).split("INVITE sip:", 1)[1].split("\n\n", 1)[0]
        assert bool(re.search(r"^Require:.*100rel", invite, re.M)) is required, invite
    finally:
        stop(uas)


@pytest.mark.parametrize(("setting", "reliable"), [
    ("no", False), ("optional", True), ("mandatory", True)])
def test_the_100rel_setting_on_incoming_calls(lib: Lib, tmp_path: Path, setting: str,
                                              reliable: bool) -> None:
    """A caller that supports 100rel (SIPp, uac_100rel.xml, which insists on an RSeq): the
    callee's 180 is reliable, then PRACKed, with optional or mandatory; plain with no (and
    the scenario fails)."""
    # 180, then 200 (without 100rel, SIPp gives up at the plain 180: no answer then)
    answer = Answerer() if reliable else Answerer(codes=(180,))
    bob = lib.create_account(AccountConfig(id="sip:bob@127.0.0.1", require_100rel=setting),
                             cb=answer)
    hostport = bob.contact.split("@", 1)[1]
    uac = start_sipp([hostport, "-sf", str(SCENARIOS / "uac_100rel.xml"), "-s", "bob", "-m", "1",
                      "-d", "300", "-trace_msg", "-timeout", "10", "-timeout_error"], tmp_path)
    try:
        assert (uac.wait(25) == 0) is reliable, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        ringing = _messages(tmp_path).split("SIP/2.0 180", 1)[1].split("\n\n", 1)[0]
        assert ("RSeq:" in ringing) is reliable, ringing
        if reliable:
            wait_for(lambda: bool(answer.recorders) and answer.recorders[0].last() == "DISCONNECTED",
                     10, "bob's call to end")
            assert "CONFIRMED" in answer.recorders[0].names()
            assert "PRACK sip:" in _messages(tmp_path)
    finally:
        stop(uac)


def test_an_update_while_the_call_rings(lib: Lib, tmp_path: Path) -> None:
    port, uas = _uas("uas_183_update.xml", tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        rec = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.reached("EARLY"), 10, "the call to ring")
        call.update()
        wait_for(lambda: rec.reached("CONFIRMED"), 10, "the call answered after the UPDATE")
        call.hangup()
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        assert "UPDATE sip:" in _messages(tmp_path)
    finally:
        stop(uas)


def test_update_is_refused_before_the_call_rings(lib: Lib, tmp_path: Path) -> None:
    """No dialog yet (no provisional response): E_WRONG_STATE, and the call is unharmed."""
    port, uas = _uas("uas_183_update.xml", tmp_path)
    stop(uas)  # nobody answers: the call stays CALLING
    alice = lib.create_account("sip:alice@127.0.0.1")
    rec = Recorder()
    call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
    with pytest.raises(Error) as err:
        call.update()
    assert err.value.err_code == "E_WRONG_STATE"
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "the call to end")


def test_session_timers_are_refreshed_by_reinvite_and_by_update(lib: Lib, tmp_path: Path) -> None:
    """Session-Expires 90, the agent refreshes: by re-INVITE when the peer does not allow
    UPDATE, by UPDATE when it does (both calls at once: one wait of about 45 s)."""
    acc = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", use_timer="always",
                                           timer_se=90))
    runs = []
    try:
        for scenario in ("uas_timer_reinvite.xml", "uas_timer_update.xml"):
            where = tmp_path / scenario.split(".")[0]
            where.mkdir()
            port, uas = _uas(scenario, where)
            rec = Recorder()
            runs.append((where, uas, acc.make_call(f"sip:service@127.0.0.1:{port}", cb=rec), rec))
        for _, _, _, rec in runs:
            wait_for(lambda rec=rec: rec.reached("CONFIRMED"), 10, "the calls to be answered")
        first = _messages(runs[0][0])
        assert "Session-Expires: 90" in first
        wait_for(lambda: _messages(runs[0][0]).count("INVITE sip:") >= 2
                 and "UPDATE sip:" in _messages(runs[1][0]), 70, "both refreshes")
        for where, uas, call, _ in runs:
            call.hangup()
            assert uas.wait(10) == 0, (where / "sipp.out").read_text(errors="replace")[-1500:]
        assert "UPDATE sip:" not in _messages(runs[0][0])  # that peer does not allow UPDATE
    finally:
        for _, uas, _, _ in runs:
            stop(uas)


@pytest.mark.parametrize("keying", ["sdes"])
def test_an_srtp_call_between_agents(lib: Lib, keying: str) -> None:
    answer = Answerer(codes=(200,))
    bob = lib.create_account(AccountConfig(id="sip:bob@127.0.0.1", use_srtp="mandatory",
                                           srtp_keying=keying), cb=answer)
    alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", use_srtp="mandatory",
                                             srtp_keying=keying))
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.reached("CONFIRMED"), 10, "the SRTP call to be answered")
    both_ways: list[Any] = []

    def flowing() -> bool:
        stats = call.stats()
        both_ways[:] = [stats]
        return stats.rx_packets > 20 and stats.tx_packets > 20

    wait_for(flowing, 10, "SRTP packets both ways")
    assert both_ways[0].rx_loss == 0
    assert call.info(refresh=True).media_proto == "RTP/SAVP"
    wait_for(lambda: bool(answer.calls), 5, "bob's side of the call")
    assert answer.calls[0].info(refresh=True).media_proto == "RTP/SAVP"
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "the call to end")


def test_an_srtp_only_callee_refuses_a_plain_call(lib: Lib) -> None:
    bob = lib.create_account(AccountConfig(id="sip:bob@127.0.0.1", use_srtp="mandatory"),
                             auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "the call to be refused")
    assert call.info().last_code == 488


def test_a_voicemail_notify_reaches_on_mwi_info(lib: Lib, tmp_path: Path) -> None:
    """mwi=True: the account's home agent subscribes to message-summary at the account's own
    address (SIPp as the voicemail server); its NOTIFY comes to on_mwi_info, read."""
    port = free_udp_port()  # SIPp is the registrar too: pjsua subscribes for registered accounts
    uas = start_sipp(["-sf", str(SCENARIOS / "uas_mwi.xml"), "-p", str(port), "-m", "2",
                      "-trace_msg", "-key", "new", "2", "-key", "old", "8"], tmp_path)
    seen: list[tuple[bool, int, int, str, str]] = []

    class Mwi(AccountCallback):
        def on_mwi_info(self, waiting: bool, voice_new: int, voice_old: int, body: str,
                        state: str) -> None:
            seen.append((waiting, voice_new, voice_old, body, state))

    try:
        acc = lib.create_account(AccountConfig(id=f"sip:alice@127.0.0.1:{port}",
                                               registrar=f"sip:127.0.0.1:{port}", mwi=True),
                                 cb=Mwi())
        wait_for(lambda: bool(seen), 10, "the NOTIFY to reach on_mwi_info")
        waiting, new, old, body, state = seen[0]
        assert (waiting, new, old) == (True, 2, 8), seen
        assert state in ("ACCEPTED", "ACTIVE")  # the subscription's state as pjsua saw it
        assert "Voice-Message: 2/8" in body
        acc.delete()  # unsubscribes and unregisters: SIPp accepts both and ends
        assert uas.wait(40) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        assert "Event: message-summary" in _messages(tmp_path)
    finally:
        stop(uas)


def _request(messages: str, method: str) -> str:
    """The first ``method`` request in SIPp's message log, up to the next log entry."""
    return messages.split(f"\n{method} sip:", 1)[1].split("\n-----", 1)[0]


@pytest.mark.parametrize(("scenario", "lock_codec"), [
    ("uas_200_two_codecs.xml", None),  # pjsua's default: lock after the answer
    ("uas_183_two_codecs.xml", None),  # reliable early answer: lock while the call rings
    ("uas_200_two_codecs_no_lock.xml", False)])
def test_codec_locking(lib: Lib, tmp_path: Path, scenario: str, lock_codec: bool | None) -> None:
    """An answer that keeps two codecs (PCMU, PCMA) from a peer that allows UPDATE: with codec
    locking the caller sends an UPDATE offering PCMU alone (the scenario insists on it, before
    the INVITE's 200 in the early case); without, no request follows the ACK (any fails the
    scenario). The UAS hangs up."""
    port, uas = _uas(scenario, tmp_path)
    try:
        options = {} if lock_codec is None else {"lock_codec": lock_codec}
        alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", **options))
        rec = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the UAS to hang up")
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        messages = _messages(tmp_path)
        assert messages.count("\nINVITE sip:") == 1  # no re-INVITE either
        if lock_codec is False:
            assert "\nUPDATE sip:" not in messages
            return
        update = _request(messages, "UPDATE")
        media = re.search(r"^m=audio \d+ RTP/AVP ([\d ]+)$", update, re.M)
        assert media is not None, update
        codecs = [pt for pt in media.group(1).split()
                  if not re.search(rf"^a=rtpmap:{pt} telephone-event/", update, re.M)]
        assert codecs == ["0"], update
        assert call.info().state == "DISCONNECTED" or not call.is_valid()
    finally:
        stop(uas)


@pytest.mark.parametrize("advertised", [True, False])
def test_norefersub_in_the_supported_header(tmp_path: Path, advertised: bool) -> None:
    """As pjsua: "norefersub" is in the INVITE's Supported header, unless the agent runs with
    --no-supported-norefersub; the other option tags stay, in their order."""
    args = [] if advertised else ["--no-supported-norefersub"]
    fleet = start_fleet(1, agent_args=args)
    lib = next(fleet)
    port, uas = _uas("uas_200_two_codecs_no_lock.xml", tmp_path)
    try:
        alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", lock_codec=False))
        rec = Recorder()
        alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the UAS to hang up")
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        supported = re.search(r"^Supported: (.*)$", _request(_messages(tmp_path), "INVITE"),
                              re.M)
        assert supported is not None
        tags = [t.strip() for t in supported.group(1).split(",")]
        expected = ["replaces", "100rel", "norefersub"]
        assert tags == (expected if advertised else [t for t in expected if t != "norefersub"])
    finally:
        stop(uas)
        next(fleet, None)


def test_two_audio_streams_then_a_reinvite_with_less_media(lib: Lib, tmp_path: Path) -> None:
    """audio_count=2 (pjsua's --extra-audio): the INVITE offers two audio streams, both are
    used once answered; the peer's re-INVITE with one stream, sendonly, is answered (the call
    goes to REMOTE_HOLD and stays up: the peer's BYE gets its 200, or the scenario fails)."""
    port, uas = _uas("uas_two_streams_less_media.xml", tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        for bad in (0, 5):
            with pytest.raises(Error) as err:
                alice.make_call(f"sip:service@127.0.0.1:{port}", audio_count=bad)
            assert err.value.err_code == "E_BAD_ARGS"
        rec = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec, audio_count=2)
        wait_for(lambda: call.info(refresh=True).audio_streams == 2, 10,
                 "the call answered with two audio streams")
        wait_for(lambda: "REMOTE_HOLD" in rec.media, 10, "the re-INVITE with one stream")
        wait_for(lambda: rec.last() == "DISCONNECTED", 10, "the UAS to hang up")
        assert uas.wait(10) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        assert _request(_messages(tmp_path), "INVITE").count("\nm=audio ") == 2
    finally:
        stop(uas)


def test_extra_audio_between_agents(lib: Lib) -> None:
    """An offer of two audio streams to an agent: it answers one (the second refused, port 0),
    as pjsua 2.15.1 does; the caller's agent counts two sockets more for the call meanwhile."""
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    assert alice.agent != bob.agent

    def free(agent: str) -> int:
        return int(next(a["sockets_free"] for a in lib.agents() if a["name"] == agent))

    wait_for(lambda: free(alice.agent) == 48, 5, "alice's agent to have every socket free")
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec, audio_count=2)
    wait_for(lambda: rec.reached("CONFIRMED") and call.info(refresh=True).audio_streams == 1,
             10, "the call answered with one audio stream")
    wait_for(lambda: free(alice.agent) == 48 - 2 - 2, 5, "alice's agent to count 4 sockets")
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED", 10, "the call to end")
    wait_for(lambda: free(alice.agent) == 48, 5, "the sockets back (after their linger)")


def _audio_section(sdp_message: str) -> str:
    """The audio media description of a SIP message's SDP (up to the next m= line)."""
    return "m=audio" + sdp_message.split("\nm=audio", 1)[1].split("\nm=", 1)[0].rstrip()


def test_sdp_attributes_in_offers_and_answers(lib: Lib, tmp_path: Path) -> None:
    """sdp_attrs: the account's INVITE offer and its answer to an incoming INVITE carry them
    in the audio media; a= lines PJSIP writes itself are refused."""
    attrs = ["label:main", "X-tag:one two"]
    with pytest.raises(Error) as err:
        lib.create_account(AccountConfig(id="sip:x@127.0.0.1", sdp_attrs=["rtpmap:0 PCMU/8000"]))
    assert err.value.err_code == "E_BAD_ARGS" and "PJSIP itself" in err.value.err_msg
    alice = lib.create_account(AccountConfig(id="sip:alice@127.0.0.1", sdp_attrs=attrs,
                                             lock_codec=False))
    for side in ("out", "in"):
        (tmp_path / side).mkdir()
    port, uas = _uas("uas_200_two_codecs_no_lock.xml", tmp_path / "out")
    try:
        rec = Recorder()
        alice.make_call(f"sip:service@127.0.0.1:{port}", cb=rec)
        wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the UAS to hang up")
        assert uas.wait(10) == 0
    finally:
        stop(uas)
    offer = _audio_section(_request(_messages(tmp_path / "out"), "INVITE"))
    assert offer.splitlines()[-2:] == [f"a={a}" for a in attrs], offer

    bob = lib.create_account(AccountConfig(id="sip:bob@127.0.0.1", sdp_attrs=attrs[:1]),
                             auto_answer=200)
    uac = start_sipp([bob.contact.split("@", 1)[1].rstrip(">"), "-sn", "uac", "-s", "bob",
                      "-m", "1", "-d", "300", "-trace_msg", "-timeout", "10", "-timeout_error"],
                     tmp_path / "in")
    try:
        assert uac.wait(20) == 0
    finally:
        stop(uac)
    answer = _messages(tmp_path / "in").split("SIP/2.0 200 OK", 1)[1].split("\n-----", 1)[0]
    assert _audio_section(answer).splitlines()[-1] == "a=label:main", answer
