"""A load run's figures on the coordinator (pure): outcomes counted once, rates measured on the
agents' clocks, per-interval setup percentiles, the rate asked over ramps and rate changes."""

from __future__ import annotations

from typing import Any

import pytest

from coordinator.server.load.plan import Profile
from coordinator.server.load.report import report
from coordinator.server.load.run import MAX_REASONS, LoadRun
from coordinator.server.load.series import _AgentClock
from proto.hist import Histogram


def _setup(*ms: float) -> dict[str, Any]:
    h = Histogram()
    for v in ms:
        h.record(v * 1000)
    return h.to_wire()


def _stats(agent: str, **over: Any) -> dict[str, Any]:
    empty = Histogram().to_wire()
    d: dict[str, Any] = {"agent": agent, "started": 0, "answered": 0, "completed": 0,
                         "delayed": 0, "incoming": 0, "failed": {}, "failed_reasons": {},
                         "active": 0, "answering": 0, "setup": empty, "duration": empty,
                         "caller_done": False, "done": False}
    d.update(over)
    return d


def _run(*agents: str, **profile: Any) -> LoadRun:
    p = Profile(**{"rate": 10.0, "calls": 100, **profile})
    return LoadRun("L1", None, p, {a: {} for a in agents}, 100.0)


def test_every_attempted_call_has_one_outcome_and_a_lost_agent_loses_its_calls() -> None:
    run = _run("a", "b")
    run.on_stats("a", _stats("a", started=10, answered=8, completed=5, active=3,
                             failed={"486": 2}, failed_reasons={"486 Busy Here": 2}), 101.0)
    run.on_stats("b", _stats("b", started=6, answered=6, completed=6), 101.0)
    run.agent_lost("a")
    run.on_stats("a", _stats("a", started=99), 101.5)  # a late report of a lost agent
    r = report(run, 102.0)
    assert r["attempted"] == 16 and r["lost"] == 3 and r["lost_agents"] == ["a"]
    assert r["completed"] + r["failed"] + r["lost"] + r["active"] == r["attempted"]
    assert sum(r["failed_by_code"].values()) == r["failed"] == 2
    assert not r["success"]


def test_status_lines_past_the_limit_count_as_other_and_still_sum_to_failed() -> None:
    run = _run("a")
    reasons = {f"{480 + i} reason {i}": 1 for i in range(MAX_REASONS + 5)}
    run.on_stats("a", _stats("a", started=len(reasons), failed={"4xx": len(reasons)},
                             failed_reasons=reasons), 101.0)
    r = report(run, 102.0)
    assert r["failed_by_reason"]["other"] == 5
    assert len(r["failed_by_reason"]) == MAX_REASONS + 1
    assert sum(r["failed_by_reason"].values()) == r["failed"]


def test_bad_counters_do_not_count() -> None:
    run = _run("a")
    run.on_stats("a", _stats("a", started=2, completed=-4, failed={"486": True, "503": 1}),
                 101.0)
    r = report(run, 102.0)
    assert r["completed"] == 0 and r["failed"] == 1


def test_rates_are_measured_on_each_agents_clock() -> None:
    clock = _AgentClock()
    for t in range(1, 9):  # 2 calls a second, reports 1 s apart
        clock.add(float(t), 2)
    assert clock.last_rate == pytest.approx(2.0)
    assert clock.window_rate() == pytest.approx(2.0)
    clock.add(8.5, 3)  # a report half a second after the last: 6 calls/s over its interval
    assert clock.last_rate == pytest.approx(6.0)
    # the reports that end in the last 5 s cover 3 s to 8.5 s
    assert clock.window_rate() == pytest.approx((2 * 5 + 3) / 5.5)


def test_a_steady_rate_reads_steady_whatever_the_reports_phase() -> None:
    """Two agents at 5 calls/s each; one's reports reach the coordinator just before or just
    after each row: the rows' raw counts swing (5, 15, ...), the rates do not."""
    run = _run("a", "b", calls=0, duration=60)
    run.release(100.0)
    events: list[tuple[float, str, float]] = []
    for second in range(1, 9):
        jitter = -0.02 if second % 2 else 0.02  # a's report just before, then just after
        events += [(100.0 + second + jitter, "a", second), (100.0 + second - 0.5, "b", second),
                   (100.0 + second, "row", 0)]
    rows = []
    for at, who, t in sorted(events):
        if who == "row":
            row = run.tick(at)
            assert row is not None
            rows.append(row)
        else:
            run.on_stats(who, _stats(who, started=5, t=float(t)), at)
    assert {r["interval_started"] for r in rows[1:]} == {5, 15}  # what a raw count shows
    assert all(r["rate"] == pytest.approx(10.0) for r in rows)
    assert all(r["rate_window"] == pytest.approx(10.0) for r in rows)


def test_setup_percentiles_per_interval_and_for_the_whole_run() -> None:
    run = _run("a")
    run.on_stats("a", _stats("a", started=3, answered=3, setup=_setup(2, 2, 2)), 100.5)
    first = run.tick(101.0)
    run.on_stats("a", _stats("a", started=3, answered=3, setup=_setup(80, 80, 80)), 101.5)
    second = run.tick(102.0)
    assert first is not None and second is not None
    assert first["interval_setup_p50_ms"] == pytest.approx(2, rel=0.05)
    assert second["interval_setup_p50_ms"] == pytest.approx(80, rel=0.05)
    assert second["setup_p95_ms"] == pytest.approx(80, rel=0.05)  # the whole run's


def test_the_target_follows_the_ramp() -> None:
    run = _run("a", ramp=10.0)
    run.release(100.0)
    assert run.target_now(102.5) == pytest.approx(2.5)
    assert run.target_now(115.0) == 10.0
    run.set_rate(4.0, 103.0)  # a rate set ends the ramp
    assert run.target_now(103.5) == 4.0


def test_the_calls_asked_integrate_the_ramp_and_each_rate_change() -> None:
    run = _run("a", ramp=4.0)
    run.release(100.0)
    assert run.asked_calls(4.0) == pytest.approx(20.0)  # 10/s reached over 4 s
    assert run.asked_calls(6.0) == pytest.approx(40.0)
    run.set_rate(0.0, 106.0)  # paused at 6 s
    run.set_rate(5.0, 110.0)  # resumed at 10 s, at 5 calls/s
    assert run.asked_calls(12.0) == pytest.approx(40.0 + 0.0 + 10.0)


def test_achieved_against_asked_over_the_calls_span() -> None:
    run = _run("a", calls=20)
    run.release(100.0)
    run.on_stats("a", _stats("a", started=20, last_start=1.9, t=2.0), 102.0)
    r = report(run, 103.0)
    assert r["calling_s"] == pytest.approx(2.0)  # last start + one interval at 10/s
    assert r["achieved_pct"] == pytest.approx(100.0)
    slow = _run("a", calls=20)
    slow.release(100.0)
    slow.on_stats("a", _stats("a", started=20, last_start=5.9, t=6.0), 106.0)
    assert report(slow, 107.0)["achieved_pct"] == pytest.approx(100 * 20 / 60, abs=0.01)


def test_load_calls_take_slots_where_they_are() -> None:
    run = _run("a", "b")
    run.on_stats("a", _stats("a", active=3, answering=1), 101.0)
    assert run.slots_at("a") == 4 and run.slots_at("b") == 0
    run.on_stats("a", _stats("a", done=True), 102.0)
    assert run.slots_at("a") == 0


def test_progress_events_carry_failures_by_code_and_each_agents_part() -> None:
    from coordinator.server.load.report import live

    run = _run("a", "b")
    run.on_stats("a", _stats("a", started=7, answered=5, active=4, failed={"486": 2}), 101.0)
    run.on_stats("b", _stats("b", started=3, answered=3, incoming=5, active=1), 101.0)
    parts = live(run)
    assert parts["failed_by_code"] == {"486": 2} and parts["lost_agents"] == []
    assert parts["by_agent"] == [
        {"agent": "a", "started": 7, "answered": 5, "incoming": 0, "failed": 2, "active": 4},
        {"agent": "b", "started": 3, "answered": 3, "incoming": 5, "failed": 0, "active": 1}]
    run.agent_lost("a")
    assert live(run)["lost_agents"] == ["a"] and live(run)["by_agent"][0]["active"] == 0
    run.rejoined("a", {"run": run.run, "answer": {"ids": [{"uri": "sip:x@127.0.0.1:6001"}]}})
    assert live(run)["lost_agents"] == [] and live(run)["replaced_agents"] == ["a"]
    # the same parts as the final report's, with the calls up beside them
    assert [{k: v for k, v in p.items() if k != "active"} for p in live(run)["by_agent"]] \
        == report(run, 102.0)["by_agent"]


def test_a_replacement_gets_what_is_left_of_the_lost_part_at_its_new_address() -> None:
    from collections import Counter

    from coordinator.server.load.rejoin import rejoin_share

    share = {"run": "L1",
             "caller": {"ids": [{"uri": "sip:L1-call@127.0.0.1:5061"}], "calls": 10, "rate": 2.0,
                        "ramp": 3.0, "phase": 0.5, "wait_go": True,
                        "targets": ["sip:L1-ans@127.0.0.1:5062"]},
             "answer": {"ids": [{"uri": "sip:L1-ans@127.0.0.1:5061"}]}}
    run = LoadRun("L1", None, Profile(rate=4.0, calls=20, self_answer=True), {"b": share}, 100.0)
    run.hostports = {"b": "127.0.0.1:5061"}
    run.by_agent["b"] = Counter(started=7)
    new = rejoin_share(run, "b", "127.0.0.1:6001", 105.0)
    assert new is not None
    assert new["caller"]["calls"] == 3 and new["caller"]["ramp"] == 0.0
    assert new["caller"]["wait_go"] is False and new["caller"]["phase"] == 0.0
    assert new["caller"]["ids"] == [{"uri": "sip:L1-call@127.0.0.1:6001"}]
    assert new["answer"]["ids"] == [{"uri": "sip:L1-ans@127.0.0.1:6001"}]
    assert new["caller"]["targets"] == share["caller"]["targets"]  # its callee is unchanged
    assert share["caller"]["calls"] == 10  # the run's own record is not changed
    run.by_agent["b"]["started"] = 10  # all its calls were placed: it only answers
    assert "caller" not in (rejoin_share(run, "b", "127.0.0.1:6001", 105.0) or {})


def test_the_target_is_zero_once_the_run_stops_calling() -> None:
    run = _run("a", calls=0, duration=10.0, self_answer=True)
    assert run.target_now(100.5) == 0.0  # its answering accounts are being made
    run.release(101.0)
    assert run.target_now(105.0) == 10.0
    assert run.target_now(111.5) == 0.0  # its 10 s are over: the calls still up end
    quota = _run("a")
    quota.release(100.0)
    quota.on_stats("a", _stats("a", started=100, caller_done=True), 110.0)
    assert quota.target_now(110.5) == 0.0


def test_the_reports_profile_speaks_load_starts_names() -> None:
    public = Profile(rate=1.0, calls=1, self_answer=True).public()
    assert public["self"] is True and "self_answer" not in public
