"""Call.info() beyond the state (negotiated codec, connect and total durations) and the RTP
statistics of a call between two agents, read on both sides while media flows."""

from __future__ import annotations

import pytest

from coordinator.client import CallStats, Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import connected_pair, hang_up


def test_info_and_rtp_statistics_on_both_sides(lib: Lib) -> None:
    call, out, incoming, inn = connected_pair(lib)
    stats: dict[str, CallStats] = {}

    def flowing() -> bool:
        stats["a"], stats["b"] = call.stats(), incoming.stats()
        return all(s.rx_packets >= 50 and s.tx_packets >= 50 for s in stats.values())

    wait_for(flowing, 10, "50 RTP packets each way")  # 20 ms packets: about a second
    a, b = stats["a"], stats["b"]
    assert a.codec == b.codec != "" and "/" in a.codec
    for s in (a, b):
        assert s.rx_loss == 0 and s.rx_loss_pct == 0 and s.rx_dup == 0
        assert s.rx_bytes > 0 and s.tx_bytes > 0 and s.duration_s > 0.5
        assert 4.0 <= s.mos <= 4.5 and s.jitter_ms >= 0 and s.rtt_ms >= 0
    # what one side sent, the other received (both read a moment apart)
    assert abs(a.tx_packets - b.rx_packets) <= 25 and abs(b.tx_packets - a.rx_packets) <= 25

    ai, bi = call.info(refresh=True), incoming.info(refresh=True)
    assert ai.codec == bi.codec == a.codec
    assert 0.5 < ai.call_time <= ai.total_time and 0.5 < bi.call_time <= bi.total_time
    assert ai.state == bi.state == "CONFIRMED" and ai.role == "caller" and bi.role == "callee"
    hang_up(call, out, inn)
    with pytest.raises(Error) as exc:
        call.stats()
    assert exc.value.err_code == "E_NOT_FOUND"


def test_stats_need_media(lib: Lib) -> None:
    answerer = Answerer(codes=(180,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("EARLY"), 10, "the call to ring")
    with pytest.raises(Error) as exc:
        call.stats()
    assert exc.value.err_code == "E_WRONG_STATE"
    assert call.info(refresh=True).codec == ""
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
