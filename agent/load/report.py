"""What one agent's share of a load run counts between two reports (``load.stats``): calls
started, answered, delayed and failed (by code and by status line), DTMF and tone checks, setup
and duration histograms, the RTP quality of the calls it hung up and the scenario's steps.
``agent.load.generator`` counts into a Report and sends ``to_wire()`` once a second, then starts
a new one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from agent.load.totals import COUNTERS
from agent.mos import mos
from agent.objects import AgentCall
from proto.hist import Histogram
from proto.steptable import StepTable

#: distinct failure reasons one report carries, and the length kept of each
MAX_REASONS, MAX_REASON_LEN = 16, 120


@dataclass
class CallQuality:
    """RTP figures of the calls this agent hung up (read just before the hangup, while the
    stream still exists): loss (per mille), jitter (µs) and MOS (x1000) histograms."""

    calls: int = 0
    rx: int = 0
    lost: int = 0
    loss_pm: Histogram = field(default_factory=Histogram)
    jitter: Histogram = field(default_factory=Histogram)
    mos: Histogram = field(default_factory=Histogram)

    def sample(self, call: AgentCall) -> None:
        try:
            rx = call.getStreamStat(0).rtcp.rxStat
        except pj.Error:
            return  # no audio stream (e.g. a signalling-only agent)
        if rx.pkt == 0 and rx.loss == 0:
            return
        loss_pct = 100.0 * rx.loss / (rx.pkt + rx.loss)
        jitter_us = float(rx.jitterUsec.mean)
        self.calls += 1
        self.rx += int(rx.pkt)
        self.lost += int(rx.loss)
        self.loss_pm.record(loss_pct * 10)
        self.jitter.record(jitter_us)
        self.mos.record(mos(0.0, jitter_us / 1000, loss_pct) * 1000)

    def to_wire(self) -> dict[str, Any]:
        return {"calls": self.calls, "rx": self.rx, "lost": self.lost,
                "loss_pm": self.loss_pm.to_wire(), "jitter": self.jitter.to_wire(),
                "mos": self.mos.to_wire()}


@dataclass
class Report:
    counts: Counter[str] = field(default_factory=Counter)
    #: failed calls by SIP code ("486", "local", "pj70012")
    failed: Counter[str] = field(default_factory=Counter)
    #: failed calls by status line ("480 Media init error: ..."), so a report says why
    reasons: Counter[str] = field(default_factory=Counter)
    setup: Histogram = field(default_factory=Histogram)
    duration: Histogram = field(default_factory=Histogram)
    media: CallQuality = field(default_factory=CallQuality)
    #: the scenario's steps: passed, failed (why), time from the step before
    steps: StepTable = field(default_factory=StepTable)

    def fail(self, code: str, line: str) -> None:
        """One failed call: its code, and its status line (bounded: lines past MAX_REASONS
        count as "other")."""
        self.failed[code] += 1
        text = line.strip()[:MAX_REASON_LEN]
        if text not in self.reasons and len(self.reasons) >= MAX_REASONS:
            text = "other"
        self.reasons[text] += 1

    def to_wire(self) -> dict[str, Any]:
        return {**{key: self.counts[key] for key in COUNTERS},
                "failed": dict(self.failed), "failed_reasons": dict(self.reasons),
                "setup": self.setup.to_wire(), "duration": self.duration.to_wire(),
                "media": self.media.to_wire(), "steps": self.steps.to_wire()}
