"""The coordinator's view of a load run (pure): each agent's part of the report."""

from __future__ import annotations

from typing import Any

import proto
from coordinator.server.load.plan import Profile
from coordinator.server.load.report import report
from coordinator.server.load.run import LoadRun
from proto.hist import Histogram


def _stats(agent: str, started: int = 0, answered: int = 0, incoming: int = 0,
           failed: dict[str, Any] | None = None, done: bool = False) -> dict[str, Any]:
    empty = Histogram().to_wire()
    return {"agent": agent, "started": started, "answered": answered, "delayed": 0,
            "incoming": incoming, "failed": failed or {}, "active": 0, "setup": empty,
            "duration": empty, "caller_done": done, "done": done}


def _run(*agents: str) -> LoadRun:
    return LoadRun("L1", None, Profile(rate=10, calls=12), {a: {} for a in agents}, 100.0)


def test_by_agent_adds_up_each_agents_reports() -> None:
    run = _run("hosta-1", "hostb-1")
    run.on_stats("hosta-1", _stats("hosta-1", started=4, answered=3, incoming=2,
                                   failed={"486": 1}), 100.5)
    run.on_stats("hostb-1", _stats("hostb-1", started=2, answered=2, incoming=3), 100.6)
    run.on_stats("hosta-1", _stats("hosta-1", started=3, answered=3, incoming=1,
                                   failed={"503": 2, "486": 1}), 101.5)
    rep = report(run, 102.0)
    assert rep["by_agent"] == [
        {"agent": "hosta-1", "started": 7, "answered": 6, "incoming": 3, "failed": 4},
        {"agent": "hostb-1", "started": 2, "answered": 2, "incoming": 3, "failed": 0}]
    # the parts add up to the totals
    for key in ("answered", "incoming"):
        assert sum(p[key] for p in rep["by_agent"]) == rep[key]
    assert sum(p["started"] for p in rep["by_agent"]) == rep["attempted"]
    assert sum(p["failed"] for p in rep["by_agent"]) == rep["failed"]


def test_an_agent_that_never_reported_shows_zeros_and_strangers_are_ignored() -> None:
    run = _run("a", "b")
    run.on_stats("a", _stats("a", started=1, answered=1), 100.5)
    run.on_stats("intruder", _stats("intruder", started=9, answered=9), 100.5)
    assert report(run, 101.0)["by_agent"] == [
        {"agent": "a", "started": 1, "answered": 1, "incoming": 0, "failed": 0},
        {"agent": "b", "started": 0, "answered": 0, "incoming": 0, "failed": 0}]


def test_non_integer_failure_counts_are_not_added() -> None:
    run = _run("a")
    run.on_stats("a", _stats("a", started=2, failed={"486": 1, "500": "x"}), 100.5)
    assert report(run, 101.0)["by_agent"][0]["failed"] == 1
    assert report(run, 101.0)["failed"] == 1


def test_the_report_of_a_run_over_more_agents_than_a_map_holds_goes_over_the_wire() -> None:
    many = [f"host{i // 32:03d}-{i % 32:02d}" for i in range(3 * proto.limits.MAX_MAP)]
    run = _run(*many)
    for name in many:
        run.on_stats(name, _stats(name, started=1, answered=1, incoming=1, done=True), 100.5)
    frame = proto.encode(proto.evt("load.done", "L1", 1, {"report": report(run, 101.0)}))
    back = proto.decode(frame)
    proto.check_event(back)
    parts = back.data["report"]["by_agent"]
    assert [p["agent"] for p in parts] == sorted(many)
    assert all(p["started"] == p["answered"] == p["incoming"] == 1 for p in parts)
