"""A call's audio stream as numbers: the negotiated codec and RTP/RTCP statistics with a MOS
estimate (``call.info``'s codec, ``call.stats``)."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.mos import mos


def audio_index(ci: Any) -> int:
    """The media index of the call's first audio stream that has media (-1: none)."""
    for m in ci.media:
        if m.type == pj.PJMEDIA_TYPE_AUDIO and m.status != pj.PJSUA_CALL_MEDIA_NONE:
            return int(m.index)
    return -1


def codec(call: Any, ci: Any) -> str:
    """``name/clock rate`` of the negotiated audio codec, '' before media."""
    idx = audio_index(ci)
    if idx < 0:
        return ""
    try:
        si = call.getStreamInfo(idx)
    except pj.Error:
        return ""
    return f"{si.codecName}/{si.codecClockRate}" if si.codecName else ""


#: the SDP names of the transports a stream may use (pjmedia_tp_proto)
_PROTO = ((pj.PJMEDIA_TP_PROTO_DTLS_SRTP, "UDP/TLS/RTP/SAVP"), (pj.PJMEDIA_TP_PROTO_RTP_SAVP, "RTP/SAVP"),
          (pj.PJMEDIA_TP_PROTO_RTP_AVP, "RTP/AVP"))


def media_proto(call: Any, ci: Any) -> str:
    """The audio stream's transport as the SDP names it, '' before media."""
    idx = audio_index(ci)
    if idx < 0:
        return ""
    try:
        proto = int(call.getStreamInfo(idx).proto)
    except pj.Error:
        return ""
    return next((name for bits, name in _PROTO if proto & bits == bits), f"proto {proto}")


def _ms(usec: float) -> float:
    return round(max(0.0, float(usec)) / 1000.0, 3)


def stats(call: Any) -> dict[str, Any] | None:
    """The call.stats result, or None when the call has no audio stream."""
    ci = call.getInfo()
    idx = audio_index(ci)
    if idx < 0:
        return None
    try:
        rtcp = call.getStreamStat(idx).rtcp
    except pj.Error:
        return None
    rx, tx = rtcp.rxStat, rtcp.txStat
    expected = rx.pkt + rx.loss
    loss_pct = round(100.0 * rx.loss / expected, 3) if expected else 0.0
    jitter, rtt = _ms(rx.jitterUsec.mean), _ms(rtcp.rttUsec.mean)
    return {
        "codec": codec(call, ci),
        "duration_s": round(ci.connectDuration.sec + ci.connectDuration.msec / 1000.0, 3),
        "tx_packets": int(tx.pkt), "tx_bytes": int(tx.bytes),
        "rx_packets": int(rx.pkt), "rx_bytes": int(rx.bytes),
        "rx_loss": int(rx.loss), "rx_loss_pct": loss_pct,
        "rx_dup": int(rx.dup), "rx_reorder": int(rx.reorder), "jitter_ms": jitter,
        "tx_loss": int(tx.loss), "peer_jitter_ms": _ms(tx.jitterUsec.mean),
        "rtt_ms": rtt, "mos": mos(rtt, jitter, loss_pct),
    }
