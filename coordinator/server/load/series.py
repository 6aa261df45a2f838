"""A load run's figures over time (pure): one row per second with the interval's own figures
beside the run's totals so far.

Agents report deltas once a second, each on its own clock phase; a row that summed whatever
reports arrived in its second would swing (two reports of one agent in one row, none in the
next: 8 <-> 16 calls/s at a target of 10). So rates are measured on the agents' clocks: each
report says how far into its part the agent is (``t``), the rate over an agent's last interval
is its starts over the time its report covers, and the window rate is its starts over the
last WINDOW_S seconds of its own time. Setup-time percentiles of an interval come from the
histograms that arrived in it, merged over the agents.
"""

from __future__ import annotations

import collections
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from proto.hist import Histogram

#: seconds of the sliding window over which the steady rate is measured
WINDOW_S = 5.0


@dataclass
class _AgentClock:
    """One agent's starts on its own clock: (from, to, started) of its recent reports, each
    covering the time since the one before."""

    reports: collections.deque[tuple[float, float, int]] = field(
        default_factory=collections.deque)
    last_rate: float = 0.0
    _end: float = 0.0

    def add(self, t: float, started: int) -> None:
        if t <= self._end:
            if t == 0.0:  # not calling yet
                return
            self.reports.clear()  # a restarted part: its clock began again
            self._end = 0.0
        self.last_rate = started / (t - self._end)
        self.reports.append((self._end, t, started))
        self._end = t
        while self.reports and self.reports[0][1] <= t - WINDOW_S:
            self.reports.popleft()

    def window_rate(self) -> float:
        """Starts over the reports that end within the last WINDOW_S, by the time they
        cover."""
        if not self.reports:
            return 0.0
        span = self._end - self.reports[0][0]
        return sum(n for _, _, n in self.reports) / span if span > 0 else 0.0


@dataclass
class _Interval:
    """What arrived since the last row."""

    started: int = 0
    answered: int = 0
    failed: int = 0
    setup: Histogram = field(default_factory=Histogram)
    rx: int = 0
    lost: int = 0
    jitter: Histogram = field(default_factory=Histogram)
    mos: Histogram = field(default_factory=Histogram)


def _ms(hist: Histogram, p: float) -> float:
    return round(hist.percentile(p) / 1000, 3)


@dataclass
class Series:
    rows: list[dict[str, Any]] = field(default_factory=list)
    clocks: dict[str, _AgentClock] = field(default_factory=dict)
    now: _Interval = field(default_factory=_Interval)
    failed_by_code: Counter[str] = field(default_factory=Counter)

    def add(self, agent: str, data: dict[str, Any], failed: int,
            setup: Histogram | None, media: dict[str, Any] | None) -> None:
        """One agent's (checked) report: its deltas join the current interval."""
        t = data.get("t")
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            self.clocks.setdefault(agent, _AgentClock()).add(float(t), data["started"])
        cur = self.now
        cur.started += data["started"]
        cur.answered += data["answered"]
        cur.failed += failed
        if setup is not None:
            cur.setup.merge(setup)
        if media is not None:
            cur.rx += media["rx"]
            cur.lost += media["lost"]
            for name, hist in (("jitter", cur.jitter), ("mos", cur.mos)):
                try:
                    hist.merge(Histogram.from_wire(media.get(name)))
                except ValueError:
                    pass

    def forget(self, agent: str) -> None:
        """A lost agent starts no more calls: its rate leaves the sums."""
        self.clocks.pop(agent, None)

    def rates(self) -> tuple[float, float]:
        """Calls per second over the agents' last intervals, and over the last WINDOW_S."""
        return (round(sum(c.last_rate for c in self.clocks.values()), 3),
                round(sum(c.window_rate() for c in self.clocks.values()), 3))

    def close(self, totals: dict[str, Any]) -> dict[str, Any]:
        """The row of the interval now ending: ``totals`` (the run's figures so far) and the
        interval's own; a new interval begins."""
        cur, self.now = self.now, _Interval()
        rate, window = self.rates()
        sent = cur.rx + cur.lost
        row = {**totals, "rate": rate, "rate_window": window,
               "interval_started": cur.started, "interval_answered": cur.answered,
               "interval_failed": cur.failed,
               "interval_setup_p50_ms": _ms(cur.setup, 50),
               "interval_setup_p95_ms": _ms(cur.setup, 95),
               "interval_setup_p99_ms": _ms(cur.setup, 99),
               "interval_rtp_loss_pct": round(100 * cur.lost / sent, 4) if sent else 0.0,
               "interval_jitter_p95_ms": _ms(cur.jitter, 95),
               "interval_mos_p50": round(cur.mos.percentile(50) / 1000, 3)}
        self.rows.append(row)
        return row

    def last(self) -> dict[str, Any]:
        return self.rows[-1] if self.rows else {}
