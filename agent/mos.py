"""A MOS (mean opinion score) estimate from RTP statistics: a simplified ITU-T G.107 E-model
(pure; no PJSIP). Good enough to tell a clean call (about 4.4) from a poor one; not a
listening test."""

from __future__ import annotations


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """Transmission rating R: 93.2 less the delay impairment (one-way delay, jitter counting
    double, plus 10 ms of codec delay) and 2.5 points per percent of loss."""
    latency = max(0.0, rtt_ms) / 2 + 2 * max(0.0, jitter_ms) + 10
    delay = latency / 40 if latency < 160 else (latency - 120) / 10
    return 93.2 - delay - 2.5 * max(0.0, loss_pct)


def mos(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """MOS 1.0 .. 4.5 from R (G.107 Annex B), rounded to 2 decimals."""
    r = r_factor(rtt_ms, jitter_ms, loss_pct)
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    value = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)
    return round(min(4.5, max(1.0, value)), 2)
