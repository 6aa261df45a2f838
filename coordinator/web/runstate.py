"""The load runs as the dashboard shows them (pure): every run the coordinator reports, whoever
started it (its ``load.progress`` events, the ``loads`` of ``lib.status``), its rows for the
charts, and once it is over its report (``load.done``), kept for the page and its downloads.

Nothing is computed here that the run model or the command line computes: the rows and the
report are the coordinator's, the verdict is ``coordinator.cli.verdict``'s checks (with the
command line's default criteria, or the ones given in the page's form). While a run goes, the
verdict is provisional: it is checked on ``partial_report`` of the last progress, with the rate
over the last 5 s against the rate asked now (the final one uses the whole run's)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from coordinator.cli.outputs import CSV_COLUMNS, step_cells, step_columns
from coordinator.cli.report_text import partial_report
from coordinator.cli.verdict import Criteria, checks, exit_code

#: rows kept per live run for its charts (a row a second: over 5 hours; the report has all)
MAX_ROWS = 20000
#: finished runs kept, with their reports (the oldest are forgotten)
MAX_FINISHED = 20
#: seconds a run may be missing from lib.status before it is taken as ended without a report
ENDED_AFTER_S = 5.0
#: what a load.progress event carries beyond its row
LIVE_KEYS = ("failed_by_code", "lost_agents", "replaced_agents", "by_agent", "scenario",
             "steps")


@dataclass
class RunView:
    run: str
    first_seen: float
    #: running, finished (its report came) or ended (it left the fleet's status, no report)
    state: str = "running"
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: the step columns of each row seen live, by its ``t`` (the report's rows have none)
    step_cells: dict[float, dict[str, Any]] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    #: the run's profile: from the page's form, else from its report
    profile: dict[str, Any] = field(default_factory=dict)
    criteria: Criteria = field(default_factory=Criteria)
    #: where the criteria come from, as the page says it
    criteria_from: str = "the command line's defaults"
    started_here: bool = False
    missing_since: float = 0.0

    def add_row(self, data: dict[str, Any]) -> None:
        t = data.get("t")
        if not isinstance(t, (int, float)) or (self.rows and t <= self.rows[-1]["t"]):
            return
        self.rows.append({k: data[k] for k in CSV_COLUMNS if k in data})
        del self.rows[:max(0, len(self.rows) - MAX_ROWS)]
        cells = step_cells(data.get("steps"))
        if cells:
            self.step_cells[float(t)] = cells
            while len(self.step_cells) > MAX_ROWS:
                del self.step_cells[next(iter(self.step_cells))]


def _elapsed(d: dict[str, Any]) -> float:
    value = d.get("elapsed", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


@dataclass
class RunsState:
    runs: dict[str, RunView] = field(default_factory=dict)

    def _get(self, run: str, now: float) -> RunView:
        view = self.runs.get(run)
        if view is None:
            view = self.runs[run] = RunView(run, now)
        return view

    def on_progress(self, run: str, data: dict[str, Any], now: float) -> None:
        """A load.progress event: a row, the figures now and each agent's part."""
        view = self._get(run, now)
        if view.state != "running" or _elapsed(data) < _elapsed(view.last):
            return
        view.add_row(data)
        view.last = dict(data)
        view.missing_since = 0.0

    def on_done(self, run: str, report: dict[str, Any], now: float) -> None:
        view = self._get(run, now)
        view.state, view.report = "finished", report
        view.rows = list(report.get("timeseries") or view.rows)
        view.profile = view.profile or dict(report.get("profile") or {})
        self._forget_old()

    def on_status(self, loads: list[dict[str, Any]], now: float) -> None:
        """The live runs of a lib.status: a run the events have not shown yet appears (its
        figures now, no row); a running run that is no longer listed ends after a while."""
        listed = {str(p.get("run")): p for p in loads if isinstance(p, dict)}
        for run, progress in listed.items():
            view = self._get(run, now)
            view.missing_since = 0.0
            if view.state == "running" and _elapsed(progress) > _elapsed(view.last) + 1.5:
                view.last = {**view.last, **progress}  # events are late or were lost
        for view in self.runs.values():
            if view.state == "running" and view.run not in listed:
                view.missing_since = view.missing_since or now
                if now - view.missing_since > ENDED_AFTER_S:
                    view.state = "ended"
        self._forget_old()

    def started_here(self, run: str, profile: dict[str, Any], criteria: Criteria,
                     now: float) -> None:
        view = self._get(run, now)
        view.started_here, view.profile, view.criteria = True, profile, criteria
        view.criteria_from = "the form that started it"

    def _forget_old(self) -> None:
        over = [r for r, v in self.runs.items() if v.state != "running"]
        for run in over[:max(0, len(over) - MAX_FINISHED)]:
            del self.runs[run]


def figures(view: RunView) -> dict[str, Any]:
    """The report the run's figures are read from: its own once over, else one made of its
    last progress (the rate over the last 5 s against the rate asked now)."""
    if view.report is not None:
        return view.report
    last = view.last
    rep = partial_report(view.run, view.profile, last)
    target, window = float(last.get("target_rate") or 0.0), float(last.get("rate_window") or 0.0)
    rep.update(stopped=False, incomplete=False, asked_rate=target, achieved_rate=window,
               achieved_pct=round(100 * window / target, 2) if target > 0 else 0.0,
               failed_by_code=dict(last.get("failed_by_code") or {}),
               lost_agents=list(last.get("lost_agents") or []),
               replaced_agents=list(last.get("replaced_agents") or []),
               by_agent=list(last.get("by_agent") or []),
               scenario=str(last.get("scenario") or "built-in"),
               steps=list(last.get("steps") or []))
    return rep


def verdict(view: RunView) -> dict[str, Any]:
    found = checks(figures(view), view.criteria)
    return {"final": view.report is not None, "passed": all(c.passed for c in found),
            "exit_code": exit_code(found, False), "criteria_from": view.criteria_from,
            "checks": [c.to_wire() for c in found]}


def full_report(view: RunView) -> dict[str, Any] | None:
    """The finished run's report as ``callfleet load --report`` writes it (with its verdict),
    or None while it runs."""
    if view.report is None:
        return None
    found = verdict(view)
    return {**view.report, "interrupted": False,
            "verdict": {k: found[k] for k in ("passed", "exit_code", "checks")}}


def csv_text(view: RunView) -> str:
    """The run's rows as ``callfleet load --csv`` writes them (the step columns: of the steps
    the run has figures for)."""
    steps = (view.report or view.last).get("steps")
    known = [(str(r["leg"]), int(r["step"]), str(r["op"])) for r in steps or []
             if isinstance(r, dict) and r.get("op") != "end"]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*CSV_COLUMNS, *step_columns(known)],
                            extrasaction="ignore")
    writer.writeheader()
    for row in view.rows:
        writer.writerow({**{k: row.get(k, "") for k in CSV_COLUMNS},
                         **view.step_cells.get(float(row.get("t", -1.0)), {})})
    return out.getvalue()
