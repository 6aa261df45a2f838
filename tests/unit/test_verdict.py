"""The verdict of a load run: each criterion and the exit code (pure)."""

from __future__ import annotations

from typing import Any

from coordinator.cli.verdict import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_PASS,
    Criteria,
    checks,
    exit_code,
)


def _report(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"attempted": 100, "failed": 0, "lost": 0, "unplaced": 0,
                         "stopped": False, "achieved_pct": 99.0, "achieved_rate": 9.9,
                         "asked_rate": 10.0, "end_reason": "",
                         "setup_ms": {"count": 100, "p95": 12.0},
                         "media": {"calls_measured": 100, "mos": {"p50": 4.3}},
                         "dtmf": {"digits": "", "verified": 0, "missed": 0},
                         "tone": {"heard": 0, "missed": 0}}
    r.update(over)
    return r


def _failed(found: list[Any]) -> set[str]:
    return {c.name for c in found if not c.passed}


def test_a_clean_run_passes_every_default_criterion() -> None:
    found = checks(_report(), Criteria())
    assert _failed(found) == set()
    assert {c.name for c in found} == {"calls placed", "failed calls", "rate achieved"}
    assert exit_code(found, interrupted=False) == EXIT_PASS


def test_one_failed_or_lost_call_fails_by_default() -> None:
    assert _failed(checks(_report(failed=1), Criteria())) == {"failed calls"}
    assert _failed(checks(_report(lost=1), Criteria())) == {"failed calls"}
    assert exit_code(checks(_report(lost=1), Criteria()), interrupted=False) == EXIT_FAIL


def test_thresholds_are_limits_not_targets() -> None:
    c = Criteria(max_failed_pct=5.0, min_rate_pct=90.0, max_setup_p95_ms=12.0, min_mos=4.3)
    assert _failed(checks(_report(failed=5), c)) == set()
    assert _failed(checks(_report(failed=6), c)) == {"failed calls"}
    assert _failed(checks(_report(achieved_pct=89.9), c)) == {"rate achieved"}
    assert _failed(checks(_report(setup_ms={"count": 100, "p95": 12.1}), c)) == {"setup time p95"}
    low = _report(media={"calls_measured": 100, "mos": {"p50": 4.29}})
    assert _failed(checks(low, c)) == {"MOS p50"}


def test_a_criterion_with_nothing_measured_fails() -> None:
    c = Criteria(min_mos=3.0, max_setup_p95_ms=100.0)
    none = _report(media={"calls_measured": 0, "mos": {"p50": 0.0}},
                   setup_ms={"count": 0, "p95": 0.0})
    assert _failed(checks(none, c)) == {"MOS p50", "setup time p95"}
    assert _failed(checks(_report(attempted=0), Criteria())) == {"calls placed", "failed calls"}


def test_the_rate_criterion_can_be_turned_off() -> None:
    found = checks(_report(achieved_pct=30.0), Criteria(min_rate_pct=None))
    assert "rate achieved" not in {c.name for c in found}


def test_unplaced_calls_dtmf_tone_and_an_early_end_fail() -> None:
    assert "planned calls placed" in _failed(checks(_report(unplaced=3), Criteria()))
    assert _failed(checks(_report(unplaced=3, stopped=True), Criteria())) == set()
    dtmf = _report(dtmf={"digits": "12", "verified": 9, "missed": 1})
    assert _failed(checks(dtmf, Criteria())) == {"DTMF received"}
    tone = _report(tone={"heard": 9, "missed": 1})
    assert _failed(checks(tone, Criteria())) == {"tone heard"}
    assert _failed(checks(_report(end_reason="registration failed"), Criteria())) == {
        "ran to its end"}


def test_an_interrupted_run_exits_3_whatever_its_figures() -> None:
    assert exit_code(checks(_report(), Criteria()), interrupted=True) == EXIT_INTERRUPTED
    assert exit_code(checks(_report(failed=9), Criteria()), interrupted=True) == EXIT_INTERRUPTED
