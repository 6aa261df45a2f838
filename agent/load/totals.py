"""Cumulative copies of a load run's stats (pure).

An agent reports its part of a run as deltas (``load.stats`` once a second); the coordinator
adds them up. Deltas sent while no coordinator listens are lost, so the agent also adds each
one into a running total: a restarted coordinator that adopts the run starts from the totals
(hello ``holdings``), and counts every call of the run, before and after the restart.
"""

from __future__ import annotations

from typing import Any

from proto.hist import Histogram
from proto.steptable import StepTable

#: counters added up (the rest of a report is state: the latest value wins)
COUNTERS = ("started", "answered", "completed", "delayed", "incoming", "dtmf_ok",
            "dtmf_missed", "tone_heard", "tone_missed", "tone_unchecked", "transferred")
#: maps of counters added up key by key
TALLIES = ("failed", "failed_reasons")
HISTOGRAMS = ("setup", "duration")
MEDIA_COUNTERS = ("calls", "rx", "lost")
MEDIA_HISTOGRAMS = ("loss_pm", "jitter", "mos")


def _hist_sum(a: Any, b: Any) -> dict[str, object]:
    total = Histogram()
    for raw in (a, b):
        try:
            total.merge(Histogram.from_wire(raw))
        except ValueError:
            pass
    return total.to_wire()


def _tally_sum(a: Any, b: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in (a, b):
        for key, n in (part.items() if isinstance(part, dict) else ()):
            if isinstance(n, int) and not isinstance(n, bool):
                out[str(key)] = out.get(str(key), 0) + n
    return out


def _media_sum(a: Any, b: Any) -> dict[str, Any]:
    a = a if isinstance(a, dict) else {}
    b = b if isinstance(b, dict) else {}
    out: dict[str, Any] = {k: int(a.get(k) or 0) + int(b.get(k) or 0) for k in MEDIA_COUNTERS}
    out.update({k: _hist_sum(a.get(k), b.get(k)) for k in MEDIA_HISTOGRAMS})
    return out


def merge(total: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    """``total`` with one more report ``delta`` added: counters, tallies and histograms
    summed, state fields (active, done, registration, ...) from ``delta``."""
    out = {**total, **delta}
    for key in COUNTERS:
        out[key] = int(total.get(key) or 0) + int(delta.get(key) or 0)
    for key in TALLIES:
        out[key] = _tally_sum(total.get(key), delta.get(key))
    for key in HISTOGRAMS:
        out[key] = _hist_sum(total.get(key), delta.get(key))
    out["media"] = _media_sum(total.get("media"), delta.get("media"))
    steps = StepTable()
    for part in (total.get("steps"), delta.get("steps")):
        steps.merge_wire(part)
    out["steps"] = steps.to_wire()
    return out
