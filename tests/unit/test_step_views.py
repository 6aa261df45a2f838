"""A scenario's steps as people see them (pure): --max-step-p95 in the verdict, the live line,
the final table."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.cli.live import status_line
from coordinator.cli.report_text import _step_lines
from coordinator.cli.verdict import Criteria, checks, step_limit


def _report(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"attempted": 4, "failed": 0, "lost": 0, "steps": steps}


def _step(leg: str, n: int, op: str, p95: float, ok: int = 4) -> dict[str, Any]:
    return {"leg": leg, "step": n, "op": op, "ok": ok, "failed": 0, "fatal": 0, "lost": 0,
            "failed_by_reason": {}, "time_ms": {"p50": p95 / 2, "p95": p95}}


@pytest.mark.parametrize(("text", "parsed"), [
    ("expect_dtmf=500ms", ("expect_dtmf", 500.0)), ("caller.3=1.5s", ("caller.3", 1500.0)),
    ("wait=250", ("wait", 250.0)), ("callee.12=2s", ("callee.12", 2000.0)),
])
def test_step_limits_parse(text: str, parsed: tuple[str, float]) -> None:
    assert step_limit(text) == parsed


@pytest.mark.parametrize("text", ["500ms", "caller.0=1s", "x=-1", "wait=1h", "Wait=1s"])
def test_bad_step_limits_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        step_limit(text)


def test_a_step_limit_checks_every_step_it_names() -> None:
    report = _report([_step("caller", 2, "wait", 210.0), _step("caller", 5, "wait", 900.0),
                      _step("callee", 2, "expect_dtmf", 40.0)])
    found = checks(report, Criteria(min_rate_pct=None, max_step_p95=(("wait", 500.0),
                                                                     ("callee.2", 50.0))))
    steps = {c.name: c for c in found if "step" in c.name}
    assert steps["caller step 2 (wait) p95"].passed is True
    assert steps["caller step 5 (wait) p95"].passed is False
    assert steps["caller step 5 (wait) p95"].value == "900.0 ms (4 calls)"
    assert steps["callee step 2 (expect_dtmf) p95"].passed is True
    missing = checks(report, Criteria(min_rate_pct=None, max_step_p95=(("hold", 1.0),)))
    assert [c.passed for c in missing if c.name == "step hold p95"] == [False]
    unreached = checks(_report([_step("caller", 2, "wait", 0.0, ok=0)]),
                       Criteria(min_rate_pct=None, max_step_p95=(("wait", 1.0),)))
    assert [c.passed for c in unreached if "wait" in c.name] == [False]  # no call reached it


def test_the_live_line_names_the_most_failed_steps() -> None:
    progress = {"elapsed": 3.0, "started": 9, "answered": 9, "failed": 0, "active": 2,
                "rate": 3.0, "target_rate": 3.0, "setup_p50_ms": 1.0, "setup_p95_ms": 2.0,
                "delayed": 0}
    assert "step failures" not in status_line(progress)
    wait, dtmf = _step("caller", 2, "wait", 5.0), _step("callee", 2, "expect_dtmf", 5.0)
    wait["failed"], dtmf["failed"] = 1, 4
    line = status_line({**progress, "steps": [wait, _step("caller", 1, "call", 1.0), dtmf]})
    assert line.endswith("  step failures callee.2 expect_dtmf 4, caller.2 wait 1")


def test_the_final_table_lists_a_scenarios_steps_but_not_the_builtin_ones() -> None:
    steps = [_step("caller", 1, "call", 0.6), _step("callee", 2, "expect_dtmf", 40.0)]
    steps[1].update(failed=2, lost=1, failed_by_reason={"timeout": 2})
    assert _step_lines({"scenario": "built-in", "steps": steps}) == []
    lines = _step_lines({"scenario": "desk", "steps": steps})
    assert lines[0] == "  scenario       desk"
    assert lines[2].split() == ["callee", "2", "expect_dtmf", "4", "ok", "2", "failed", "+20.0",
                                "ms", "p50,", "40.0", "p95", "1", "lost", "(timeout:", "2)"]
