"""Per-step figures of a load run's scenario (pure; the agents count, the coordinator adds up).

For each step of each leg: how many calls passed it, how many failed it and why, how many of
those failures fail the run (``on_failure: fail``), and a histogram of the time from the step
before. On the wire (``load.stats`` ``steps``) a table is a list of rows, each a map that is also
a histogram's wire form (``b``, ``max``: :mod:`proto.hist`), so a row nests no deeper than the
other histograms of a report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from proto.hist import Histogram

#: distinct failure reasons kept per step (more count as "other"), and their length
MAX_STEP_REASONS, MAX_STEP_REASON = 8, 80
#: most rows a table carries (two legs of proto.scenario.MAX_STEPS)
MAX_ROWS = 128


@dataclass
class StepRow:
    leg: str
    index: int
    op: str
    ok: int = 0
    fatal: int = 0
    #: calls that were at this step when their agent was lost
    lost: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    time: Histogram = field(default_factory=Histogram)

    def add_failure(self, reason: str, n: int = 1) -> None:
        text = reason.strip()[:MAX_STEP_REASON] or "failed"
        if text not in self.failed and len(self.failed) >= MAX_STEP_REASONS:
            text = "other"
        self.failed[text] += n


@dataclass
class StepTable:
    rows: dict[tuple[str, int], StepRow] = field(default_factory=dict)

    def _row(self, leg: str, index: int, op: str) -> StepRow | None:
        row = self.rows.get((leg, index))
        if row is None:
            if len(self.rows) >= MAX_ROWS:
                return None
            row = self.rows[(leg, index)] = StepRow(leg, index, op)
        return row

    def declare(self, leg: str, steps: list[dict[str, Any]]) -> None:
        """A row for each step of a leg the run follows, so a step no call reached shows
        with zeros."""
        for i, step in enumerate(steps, 1):
            self._row(leg, i, str(step.get("op")))

    def record(self, leg: str, index: int, op: str, ok: bool, reason: str, elapsed_s: float,
               fatal: bool) -> None:
        """Step ``index`` (from 1) of ``leg`` ended, ``elapsed_s`` after the step before."""
        row = self._row(leg, index, op)
        if row is None:
            return
        if ok:
            row.ok += 1
        else:
            row.add_failure(reason)
            row.fatal += int(fatal)
        row.time.record(max(0.0, elapsed_s) * 1e6)

    def lost_at(self, leg: str, at: dict[str, int], steps: list[dict[str, Any]]) -> None:
        """Calls of a lost agent, by the step they were at (its last ``load.stats`` ``at``:
        step number -> calls; "end": past the last step, waiting for the call to end)."""
        for key, n in at.items():
            if not isinstance(key, str):
                continue
            index = len(steps) + 1 if key == "end" else int(key) if key.isdigit() else 0
            if 1 <= index <= len(steps) + 1 and _count(n):
                op = steps[index - 1]["op"] if index <= len(steps) else "end"
                row = self._row(leg, index, str(op))
                if row is not None:
                    row.lost += _count(n)

    def merge_wire(self, raw: Any) -> None:
        """Add a table in its wire form; malformed rows are skipped."""
        for item in raw if isinstance(raw, list) else ():
            if not isinstance(item, dict):
                continue
            leg, index, op = item.get("leg"), item.get("i"), item.get("op")
            if not (isinstance(leg, str) and isinstance(op, str) and isinstance(index, int)
                    and not isinstance(index, bool)):
                continue
            try:
                time = Histogram.from_wire(item)
            except ValueError:
                continue
            row = self._row(leg, index, op)
            if row is None:
                continue
            row.ok += _count(item.get("ok"))
            row.fatal += _count(item.get("fatal"))
            row.lost += _count(item.get("lost"))
            failed = item.get("failed")
            for reason, n in (failed.items() if isinstance(failed, dict) else ()):
                if isinstance(reason, str):
                    row.add_failure(reason, _count(n))
            row.time.merge(time)

    def to_wire(self) -> list[dict[str, Any]]:
        return [{"leg": r.leg, "i": r.index, "op": r.op, "ok": r.ok, "fatal": r.fatal,
                 "lost": r.lost,
                 "failed": dict(r.failed), **r.time.to_wire()}
                for _, r in sorted(self.rows.items())]

    def fatal(self) -> int:
        """Failures that fail the run."""
        return sum(r.fatal for r in self.rows.values())

    def summary(self) -> list[dict[str, Any]]:
        """The table as reports show it: per step, calls that passed it, failed it (by
        reason) and the time from the step before (ms percentiles)."""
        order = {"caller": 0, "callee": 1, "transferee": 2}
        return [{"leg": r.leg, "step": r.index, "op": r.op, "ok": r.ok,
                 "failed": sum(r.failed.values()), "fatal": r.fatal, "lost": r.lost,
                 "failed_by_reason": dict(r.failed),
                 "time_ms": {k: v for k, v in r.time.summary_ms().items() if k != "count"}}
                for r in sorted(self.rows.values(), key=lambda r: (order.get(r.leg, 2),
                                                                   r.leg, r.index))]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
