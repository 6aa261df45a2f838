"""/metrics rendering (pure): a snapshot through prometheus_client's own writer and parser, the
setup histogram's cumulative buckets, the one reader of load runs, and the CLI's options."""

from __future__ import annotations

import argparse
import random
import socket
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from coordinator.cli import metrics_options
from coordinator.server.load.plan import Profile
from coordinator.server.load.run import LoadRun
from coordinator.server.metrics import AgentFigures, LoadTotals, RunFigures, Snapshot, run_figures
from coordinator.server.metrics_export import (
    HEALTH_METRICS,
    LOOP_COUNTERS,
    SETUP_BUCKETS_S,
    SnapshotCollector,
    setup_buckets,
)
from coordinator.server.registry import HEALTH_FIELDS
from proto.hist import Histogram


def _setup(*values_us: int) -> tuple[tuple[int, int], ...]:
    h = Histogram()
    for v in values_us:
        h.record(v)
    return tuple(sorted(h.counts.items()))


def _render(snap: Snapshot | None) -> dict[str, Any]:
    registry = CollectorRegistry()
    collector = SnapshotCollector()
    collector.snapshot = snap
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(family: Any, sample: str, **labels: str) -> float:
    found = [s.value for s in family.samples if s.name == sample and s.labels == labels]
    assert len(found) == 1, (sample, labels, family.samples)
    return float(found[0])


def _snapshot() -> Snapshot:
    agents = (AgentFigures("a-1", "ready", 2, 4, (("bridge_used", 3), ("rss_kb", 100),
                                                  ("wakeups", 41), ("woken", 9))),
              AgentFigures("a-2", "draining", 0, 4, ()))
    done = RunFigures("L1", False, started=5, answered=3, failed=(("486", 2),),
                      setup=_setup(1500, 1500, 40_000_000))
    live = RunFigures("L2", True, started=2, answered=1, active=1, failed=(("503", 1),),
                      setup=_setup(700))
    return Snapshot(taken_at=0.0, agents=agents, calls=3, accounts=2, dropped=7,
                    load_total=done.plus(live), runs=(live, done))


def test_a_snapshot_renders_as_families_that_parse_each_with_samples() -> None:
    families = _render(_snapshot())
    assert all(f.samples for f in families.values()), [n for n, f in families.items() if not f.samples]
    assert _value(families["callfleet_agents"], "callfleet_agents") == 2
    assert _value(families["callfleet_call_slots"], "callfleet_call_slots") == 8
    assert families["callfleet_dropped_messages"].type == "counter"
    assert _value(families["callfleet_dropped_messages"], "callfleet_dropped_messages_total") == 7
    calls = families["callfleet_load_calls"]
    assert calls.type == "counter"
    assert [_value(calls, "callfleet_load_calls_total", outcome=o)
            for o in ("started", "answered", "failed")] == [7, 4, 3]
    failures = families["callfleet_load_failures"]
    assert _value(failures, "callfleet_load_failures_total", code="486") == 2
    assert _value(failures, "callfleet_load_failures_total", code="503") == 1
    per_run = families["callfleet_load_run_failures"]
    assert _value(per_run, "callfleet_load_run_failures_total", run="L1", code="486") == 2
    assert _value(families["callfleet_load_active"], "callfleet_load_active", run="L2") == 1
    assert {s.labels["run"] for s in families["callfleet_load_active"].samples} == {"L2"}
    loop = families["callfleet_agent_loop_wakeups"]
    assert loop.type == "counter"
    assert _value(loop, "callfleet_agent_loop_wakeups_total", agent="a-1") == 41
    assert _value(families["callfleet_agent_loop_woken"], "callfleet_agent_loop_woken_total",
                  agent="a-1") == 9
    assert _value(families["callfleet_load_runs"], "callfleet_load_runs") == 1
    assert _value(families["callfleet_agent_bridge_ports"], "callfleet_agent_bridge_ports",
                  agent="a-1") == 3
    assert _value(families["callfleet_agent_resident_memory_bytes"],
                  "callfleet_agent_resident_memory_bytes", agent="a-1") == 100 * 1024
    assert _value(families["callfleet_agent_state"], "callfleet_agent_state", agent="a-2",
                  state="draining") == 1
    assert "callfleet_agent_sockets" not in families  # no agent reported it: no empty family


def test_the_setup_histograms_are_histograms_in_seconds() -> None:
    families = _render(_snapshot())
    for name, labels in (("callfleet_load_setup_seconds", {}),
                         ("callfleet_load_run_setup_seconds", {"run": "L1"})):
        family = families[name]
        assert family.type == "histogram"
        kinds = {s.name.removeprefix(name) for s in family.samples}
        assert kinds == {"_bucket", "_count", "_sum"}
        mine = [s for s in family.samples if s.name == name + "_bucket"
                and {k: v for k, v in s.labels.items() if k != "le"} == labels]
        assert [s.labels["le"] for s in mine][-1] == "+Inf"
        assert len(mine) == len(SETUP_BUCKETS_S) + 1
    run = families["callfleet_load_run_setup_seconds"]
    # L1: two calls set up in 1.5 ms, one in 40 s (above every finite bound)
    assert _value(run, "callfleet_load_run_setup_seconds_bucket", run="L1", le="0.001") == 0
    assert _value(run, "callfleet_load_run_setup_seconds_bucket", run="L1", le="0.002") == 2
    assert _value(run, "callfleet_load_run_setup_seconds_bucket", run="L1", le="30.0") == 2
    assert _value(run, "callfleet_load_run_setup_seconds_bucket", run="L1", le="+Inf") == 3
    assert _value(run, "callfleet_load_run_setup_seconds_count", run="L1") == 3
    assert _value(run, "callfleet_load_run_setup_seconds_sum", run="L1") == pytest.approx(40.003, rel=0.02)


def test_cumulative_buckets_never_count_more_than_the_values_below_each_bound() -> None:
    rng = random.Random(12)
    values = [int(rng.lognormvariate(9, 2)) for _ in range(2000)]
    buckets, total_s = setup_buckets(_setup(*values))
    counts = [n for _, n in buckets]
    assert counts == sorted(counts) and counts[-1] == len(values)
    for (le, n), bound in zip(buckets[:-1], SETUP_BUCKETS_S, strict=True):
        assert float(le) == bound
        below = sum(v <= bound * 1e6 for v in values)
        # a source bucket (~1.6% wide) that straddles the bound counts under the next one
        assert below * 0.95 - 1 <= n <= below, (bound, n, below)
    assert total_s == pytest.approx(sum(values) / 1e6, rel=0.02)


def test_nothing_is_rendered_before_the_first_snapshot() -> None:
    assert _render(None) == {}


def test_every_health_figure_of_a_heartbeat_has_a_metric() -> None:
    # gauges for what the agent holds, counters for its loop's turns
    assert set(HEALTH_METRICS) | set(LOOP_COUNTERS) == set(HEALTH_FIELDS)
    assert not set(HEALTH_METRICS) & set(LOOP_COUNTERS)


def _stats(started: int, answered: int, failed: dict[str, int], active: int,
           setup_us: tuple[int, ...]) -> dict[str, Any]:
    h = Histogram()
    for v in setup_us:
        h.record(v)
    return {"started": started, "answered": answered, "delayed": 0, "incoming": 0,
            "failed": failed, "active": active, "setup": h.to_wire(),
            "duration": Histogram().to_wire(), "caller_done": False, "done": False}


def test_run_figures_read_a_load_run_and_finished_runs_add_up() -> None:
    run = LoadRun("L7", None, Profile(rate=10, calls=12), {"a": {}, "b": {}}, 100.0)
    run.on_stats("a", _stats(4, 3, {"486": 1}, 2, (900, 1200, 5000)), 100.5)
    run.on_stats("b", _stats(2, 1, {"486": 1, "503": 0}, 1, (800,)), 100.6)
    live = run_figures(run)
    assert (live.run, live.live, live.started, live.answered, live.active) == ("L7", True, 6, 4, 3)
    assert live.failed == (("486", 2),) and sum(n for _, n in live.setup) == 4
    totals = LoadTotals()
    totals.add(run)
    totals.add(run)
    assert totals.total.started == 12 and totals.total.failed == (("486", 4),)
    assert [r.live for r in totals.recent] == [False, False]
    assert totals.recent[0].active == 0  # an ended run has no call up


def test_metrics_options_parse_and_refuse_in_one_line() -> None:
    assert metrics_options.port("") is None and metrics_options.port("0") == 0
    for bad in ("70000", "-1", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            metrics_options.port(bad)
    assert metrics_options.host("") == "127.0.0.1"
    args = argparse.Namespace(metrics_port=9100, metrics_host="127.0.0.1",
                              coordinator="tcp://127.0.0.1:5601")
    problem = metrics_options.load_problem(args)
    assert "embedded fleet" in problem and "\n" not in problem
    assert metrics_options.coordinator_args(args) == ["--metrics-port", "9100", "--metrics-host",
                                                      "127.0.0.1"]
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        args = argparse.Namespace(metrics_port=port, metrics_host="127.0.0.1", coordinator="")
        assert "in use" in metrics_options.load_problem(args)
    args.metrics_port = None
    assert metrics_options.load_problem(args) == "" and metrics_options.coordinator_args(args) == []
