"""Call quality from RTP statistics: a MOS estimate from a simplified ITU-T G.107 E-model
(G.711: no codec impairment), as used by many monitoring tools. Pure."""

from __future__ import annotations


def r_factor(loss_pct: float, jitter_ms: float, rtt_ms: float = 0.0) -> float:
    """Transmission rating R from packet loss (%), jitter (ms) and round-trip time (ms)."""
    effective = rtt_ms / 2 + 2 * jitter_ms + 10.0
    r = 93.2 - effective / 40 if effective < 160 else 93.2 - (effective - 120) / 10
    return max(0.0, min(100.0, r - 2.5 * max(0.0, loss_pct)))


def mos(loss_pct: float, jitter_ms: float, rtt_ms: float = 0.0) -> float:
    """Mean opinion score (1.0 .. 4.5) for those network conditions."""
    r = r_factor(loss_pct, jitter_ms, rtt_ms)
    return round(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 3)
