"""DTMF between two agents by both methods (the digits received equal the digits sent, and the
events say which method carried them), and SIP INFO DTMF from SIPp to an agent."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Recorder, start_sipp, stop, wait_for
from tests.ua_helpers import DtmfAnswerer, DtmfRecorder, Firehose, connected_pair, hang_up

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.mark.parametrize("method", ["rfc2833", "info"])
def test_dtmf_both_ways_between_agents(lib: Lib, method: str) -> None:
    assert lib.fleet is not None
    hose = Firehose(lib.fleet.events_url, "call.dtmf")
    try:
        out, answerer = DtmfRecorder(), DtmfAnswerer()
        call, _, incoming, inn = connected_pair(lib, out, answerer)
        assert isinstance(inn, DtmfRecorder)
        sent = "0123456789*#ABCD"
        call.dial_dtmf(sent, method)
        wait_for(lambda: len(inn.digits) == len(sent), 15, f"bob to receive {sent!r}")
        assert inn.digits == sent and incoming.info().dtmf == sent
        incoming.dial_dtmf("#951", method)  # and the other way
        wait_for(lambda: out.digits == "#951", 10, "alice to receive '#951'")
        wait_for(lambda: len(hose.poll()) == len(sent) + 4, 5, "every call.dtmf on the firehose")
        assert {e["data"]["method"] for e in hose.events} == {method}
        # INFO tells the duration pjsua sends (160 ms); an RFC 2833 digit is told as it begins
        assert {e["data"]["duration"] for e in hose.events} == ({160} if method == "info" else {0})
        assert "".join(e["data"]["digit"] for e in hose.events if e["obj"] == incoming.id) == sent
        assert out.digits == "#951" and call.info().dtmf == "#951"
        hang_up(call, out, inn)
    finally:
        hose.close()


def test_dtmf_errors(lib: Lib) -> None:
    call, out, incoming, inn = connected_pair(lib)
    for digits, method in (("12x", "rfc2833"), ("", "info"), ("1", "inband")):
        with pytest.raises(Error) as exc:
            call.dial_dtmf(digits, method)
        assert exc.value.err_code == "E_BAD_ARGS", (digits, method)
    hang_up(call, out, inn)
    with pytest.raises(Error) as exc:
        call.dial_dtmf("1")
    assert exc.value.err_code == "E_NOT_FOUND"


def test_info_dtmf_from_sipp(lib: Lib, tmp_path: Path) -> None:
    assert lib.fleet is not None
    hose = Firehose(lib.fleet.events_url, "call.dtmf")
    answerer = DtmfAnswerer()
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    hostport = bob.contact.split("@", 1)[1]
    uac = start_sipp([hostport, "-sf", str(SCENARIOS / "uac_info_dtmf.xml"), "-s", "bob",
                      "-m", "1", "-timeout", "20", "-timeout_error"], tmp_path)
    try:
        assert uac.wait(25) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-2000:]
        wait_for(lambda: bool(answerer.recorders) and answerer.recorders[0].last() == "DISCONNECTED",
                 10, "the call from SIPp to end")
        rec = answerer.recorders[0]
        assert isinstance(rec, DtmfRecorder) and isinstance(rec, Recorder)
        assert rec.digits == "15#A"
        assert rec.names() == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
        # each digit once, with the Duration its INFO gave (the scenario's 160, 250, 160, 160)
        wait_for(lambda: len(hose.poll()) == 4, 5, "the four call.dtmf events")
        assert [(e["data"]["digit"], e["data"]["duration"]) for e in hose.events] == [
            ("1", 160), ("5", 250), ("#", 160), ("A", 160)]
    finally:
        stop(uac)
        hose.close()
