"""What a load run writes: the CSV timeseries as the run goes (a row per second, flushed, so an
interrupted or crashed run keeps what it had, as SIPp's ``-trace_stat`` and Locust's
``--csv-full-history``), and at the end the JSON report, the PNG charts and the HTML report,
each marked ``interrupted`` when the run was stopped by a signal."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import IO, Any

from proto.scenario import LEGS

#: the CSV's columns: when, what was asked, the interval's own figures, then the run's totals
CSV_COLUMNS = (
    "timestamp", "t", "target_rate", "rate", "rate_window",
    "interval_started", "interval_answered", "interval_failed",
    "interval_setup_p50_ms", "interval_setup_p95_ms", "interval_setup_p99_ms",
    "interval_rtp_loss_pct", "interval_jitter_p95_ms", "interval_mos_p50",
    "started", "answered", "completed", "failed", "lost", "active", "delayed",
    "setup_p50_ms", "setup_p95_ms", "setup_p99_ms",
)
#: then per step of the scenario (as the run's totals so far): calls that passed it, failed it,
#: and the p95 of its time from the step before; a column is named LEG.N.OP.CELL
STEP_CELLS = ("ok", "failed", "p95_ms")


def step_columns(steps: list[tuple[str, int, str]]) -> list[str]:
    """The step columns of the steps (leg, number from 1, kind)."""
    return [f"{leg}.{i}.{op}.{cell}" for leg, i, op in steps for cell in STEP_CELLS]


def flow_steps(flow: dict[str, Any]) -> list[tuple[str, int, str]]:
    """Every step of a scenario (``proto.scenario.check``'s map), leg by leg."""
    return [(leg, i, str(step["op"])) for leg in LEGS for i, step in enumerate(flow.get(leg) or [], 1)]


def step_cells(steps: Any) -> dict[str, Any]:
    """A progress event's ``steps`` (the report's per-step summary) as step columns."""
    cells: dict[str, Any] = {}
    for row in steps if isinstance(steps, list) else ():
        if not isinstance(row, dict) or not isinstance(row.get("time_ms"), dict):
            continue
        name = f"{row.get('leg')}.{row.get('step')}.{row.get('op')}"
        cells.update({f"{name}.ok": row.get("ok", 0), f"{name}.failed": row.get("failed", 0),
                      f"{name}.p95_ms": row["time_ms"].get("p95", "")})
    return cells


class CsvStream:
    """The timeseries CSV, written a row at a time."""

    def __init__(self, path: Path, flow: dict[str, Any] | None = None) -> None:
        self.path = path
        self._file: IO[str] = path.open("w", newline="")
        self.columns = [*CSV_COLUMNS, *step_columns(flow_steps(flow or {}))]
        self._writer = csv.DictWriter(self._file, fieldnames=self.columns, extrasaction="ignore")
        self._writer.writeheader()
        self._file.flush()
        self.rows = 0
        self._last_t = -1.0

    def add(self, row: dict[str, Any]) -> None:
        """One progress row (a repeat of the last one, as load.status may give, is skipped)."""
        t = float(row.get("t", row.get("elapsed", 0.0)))
        if t <= self._last_t:
            return
        self._last_t = t
        self._writer.writerow({**{k: row.get(k, "") for k in CSV_COLUMNS},
                               **step_cells(row.get("steps"))})
        self._file.flush()
        self.rows += 1

    def finish(self, report: dict[str, Any] | None) -> None:
        """Rows the live stream missed (a late subscriber, an event lost) from the report's
        timeseries, then close."""
        for row in (report or {}).get("timeseries", []):
            if float(row.get("t", 0.0)) > self._last_t:
                self.add(row)
        self._file.close()


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def write_charts(path: Path, report: dict[str, Any]) -> None:
    from coordinator.cli.charts import png  # the report extra: only when a chart is asked

    path.write_bytes(png(report))


def write_html(path: Path, report: dict[str, Any]) -> None:
    from coordinator.cli.htmlreport import render  # the report extra: only when asked

    path.write_text(render(report))


def write_all(paths: dict[str, Path], report: dict[str, Any]) -> list[str]:
    """Every asked report file; returns a line per file that could not be written."""
    writers = {"report": write_json, "plot": write_charts, "html": write_html}
    problems = []
    for opt, path in paths.items():
        if opt in writers:
            try:
                writers[opt](path, report)
            except OSError as exc:
                problems.append(f"--{opt} {path}: {exc.strerror or exc}")
    return problems
