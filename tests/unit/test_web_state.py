"""The dashboard's pure parts: the agents' lifecycle, the runs (rows, reports, verdicts,
downloads), the events tail and its filters, the start form read as `callfleet load` options."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from coordinator.cli.outputs import CSV_COLUMNS
from coordinator.cli.verdict import Criteria, checks
from coordinator.web import form
from coordinator.web.fleetstate import FleetState
from coordinator.web.runstate import ENDED_AFTER_S, RunsState, csv_text, full_report, verdict
from coordinator.web.tail import Tail, make_filter, masked
from coordinator.web.views import PageState, counters, detail


def _agent(name: str, pid: int, calls: int = 0) -> dict[str, Any]:
    return {"name": name, "host": "h", "pid": pid, "sip": ["udp:127.0.0.1:5060"],
            "state": "ready", "calls": calls, "capacity": 4, "free": 4 - calls, "accounts": 1}


def test_an_agent_joins_is_lost_then_replaced() -> None:
    fleet = FleetState()
    fleet.update({"agents": [_agent("a", 1), _agent("b", 2)], "calls": 3}, 10.0)
    assert [r["lifecycle"] for r in fleet.view()["agents"]] == ["joined", "joined"]
    fleet.update({"agents": [_agent("a", 1)], "calls": 0}, 11.0)
    lost = fleet.view()["agents"][1]
    assert (lost["name"], lost["lifecycle"], lost["since"], lost["calls"]) == ("b", "lost", 11.0, 0)
    assert fleet.view()["totals"]["agents"] == 1 and fleet.view()["totals"]["lost"] == 1
    fleet.update({"agents": [_agent("a", 1), _agent("b", 7)], "calls": 0}, 12.0)
    back = fleet.view()["agents"][1]
    assert (back["lifecycle"], back["pid"], back["replaced_pid"]) == ("replaced", 7, 2)
    # restarted faster than a poll: a new process under the name is a replacement too
    fleet.update({"agents": [_agent("a", 9), _agent("b", 7)], "calls": 0}, 13.0)
    assert fleet.view()["agents"][0]["lifecycle"] == "replaced"
    assert fleet.view()["totals"] == {"agents": 2, "lost": 0, "calls": 0, "slots": 8, "free": 8}


def _row(t: float, **over: Any) -> dict[str, Any]:
    return {"t": t, "elapsed": t, "timestamp": 1000 + t, "target_rate": 10.0, "rate": 9.0,
            "rate_window": 9.5, "started": int(10 * t), "answered": int(9 * t),
            "completed": int(8 * t), "failed": int(t), "lost": 0, "active": 2, "delayed": 0,
            "setup_p50_ms": 3.0, "setup_p95_ms": 9.0, "setup_p99_ms": 12.0,
            "interval_started": 10, "interval_answered": 9, "interval_failed": 1,
            "interval_setup_p50_ms": 3.0, "interval_setup_p95_ms": 9.0,
            "interval_setup_p99_ms": 12.0, "failed_by_code": {"486": int(t)},
            "by_agent": [{"agent": "a", "started": int(10 * t), "active": 2}], **over}


def _report(rows: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {"run": "L1", "agents": ["a"], "lost_agents": [], "refused_agents": {},
            "stopped": False, "profile": {"rate": 10.0, "duration": 3.0}, "end_reason": "",
            "elapsed_s": 3.2, "attempted": 30, "answered": 27, "completed": 27, "failed": 3,
            "lost": 0, "active": 0, "failed_by_code": {"486": 3}, "failed_by_reason": {},
            "unplaced": 0, "asr": 0.9, "target_rate": 10.0, "calling_s": 3.0,
            "asked_calls": 30.0, "asked_rate": 10.0, "achieved_rate": 10.0, "achieved_pct": 100.0,
            "delayed_for_capacity": 0, "incoming": 27,
            "setup_ms": {"count": 27, "p50": 3.1, "p90": 8.0, "p95": 9.2, "p99": 12.5, "max": 13.0},
            "duration_ms": {"count": 27, "p50": 0, "p90": 0, "p95": 0, "p99": 0, "max": 0},
            "media": {"calls_measured": 0}, "dtmf": {"digits": "", "verified": 0, "missed": 0},
            "tone": {"heard": 0, "missed": 0}, "registration": None, "timeseries": rows,
            "by_agent": [{"agent": "a", "started": 30, "answered": 27, "incoming": 27,
                          "failed": 3}], "success": False, **over}


def test_a_run_keeps_its_rows_in_order_and_its_report_replaces_them() -> None:
    runs = RunsState()
    runs.on_progress("L1", _row(1), 1.0)
    runs.on_progress("L1", _row(2), 2.0)
    runs.on_progress("L1", _row(2), 2.1)  # a repeat adds no row
    runs.on_progress("L1", _row(1.5), 2.2)  # nor does an older one
    view = runs.runs["L1"]
    assert [r["t"] for r in view.rows] == [1, 2] and view.last["failed_by_code"] == {"486": 2}
    assert set(view.rows[0]) <= set(CSV_COLUMNS)
    figures = {c["key"]: c["value"] for c in counters(view)}
    assert (figures["attempted"], figures["failed"], figures["rate"], figures["asked"]) == (
        20, 2, 9.5, 10.0)
    live = verdict(view)
    assert not live["final"] and [c["criterion"] for c in live["checks"]] == [
        "calls placed", "failed calls", "rate achieved"]
    assert full_report(view) is None
    rows = [_row(1), _row(2), _row(3)]
    runs.on_done("L1", _report(rows), 4.0)
    assert view.state == "finished" and view.rows == rows
    done = full_report(view)
    assert done is not None and done["interrupted"] is False
    assert done["verdict"]["checks"] == [c.to_wire() for c in checks(_report(rows), Criteria())]
    assert {c["key"]: c["value"] for c in counters(view)}["setup_p95"] == 9.2
    table = list(csv.reader(io.StringIO(csv_text(view))))
    assert table[0] == list(CSV_COLUMNS) and len(table) == 4


def test_a_page_gets_only_the_rows_it_lacks_and_all_of_them_once_the_report_came() -> None:
    runs = RunsState()
    for t in (1, 2, 3):
        runs.on_progress("L1", _row(t), float(t))
    page = PageState(watch="L1")
    first = detail(runs.runs["L1"], page)
    assert first["reset"] and len(first["rows"]) == 3
    runs.on_progress("L1", _row(4), 4.0)
    second = detail(runs.runs["L1"], page)
    assert not second["reset"] and [r["t"] for r in second["rows"]] == [4]
    runs.on_done("L1", _report([_row(t) for t in (1, 2, 3, 4, 5)]), 6.0)
    final = detail(runs.runs["L1"], page)
    assert final["reset"] and len(final["rows"]) == 5 and final["verdict"]["final"]


def test_runs_seen_in_the_status_only_appear_and_end_when_they_leave_it() -> None:
    runs = RunsState()
    runs.on_status([{"run": "L7", **_row(5)}], 100.0)
    assert runs.runs["L7"].state == "running" and runs.runs["L7"].rows == []
    assert {c["key"]: c["value"] for c in counters(runs.runs["L7"])}["attempted"] == 50
    runs.on_status([], 101.0)
    runs.on_status([], 101.0 + ENDED_AFTER_S / 2)
    assert runs.runs["L7"].state == "running"  # its report may be on its way
    runs.on_status([], 101.5 + ENDED_AFTER_S)
    assert runs.runs["L7"].state == "ended"


def test_a_run_started_from_the_form_keeps_its_criteria() -> None:
    runs = RunsState()
    runs.started_here("L2", {"rate": 5.0}, Criteria(max_failed_pct=50), 1.0)
    runs.on_done("L2", _report([]), 2.0)
    found = verdict(runs.runs["L2"])
    assert found["criteria_from"] == "the form that started it"
    assert found["checks"][1]["limit"] == "<= 50%" and found["checks"][1]["passed"]


def test_the_tail_filters_as_callfleet_events_and_masks_credentials() -> None:
    tail = Tail(size=5)
    tail.add("acc.incoming_call", "bob", 1, 1.0, {"call": "x:1.in1", "password": "pw"})
    tail.add("call.state", "x:1.in1", 1, 1.1, {"state": "CONFIRMED"})
    tail.add("call.state", "c2", 1, 1.2, {"state": "CALLING"})
    tail.add("load.progress", "L1", 1, 1.3, {"started": 1})
    assert [e["obj"] for e in tail.since(0, make_filter("acc=bob", ""), 10)] == ["bob", "x:1.in1"]
    assert [e["op"] for e in tail.since(0, make_filter("call", "call=c2"), 10)] == ["call.state"]
    assert [e["obj"] for e in tail.since(0, make_filter("run=L1", ""), 10)] == ["L1"]
    first = tail.since(0, None, 10)[0]["data"]
    assert '"password":"***"' in first and "pw" not in first
    assert [e["n"] for e in tail.since(2, None, 10)] == [3, 4]
    assert [e["n"] for e in tail.since(0, None, 2)] == [3, 4]  # the newest
    for n in range(5):
        tail.add("agent.error", "a", n, 2.0, {})
    assert len(tail.since(0, None, 100)) == 5 and tail.count == 9
    assert make_filter(" ", "") is None
    with pytest.raises(ValueError, match="nope"):
        make_filter("nope=1", "")
    assert masked({"a": [{"credentials": [1]}], "token": "t"}) == {"a": [{"credentials": "***"}],
                                                                   "token": "***"}


def test_the_form_is_read_as_callfleet_load_options() -> None:
    profile, criteria = form.read({"rate": "5", "duration": "20", "hold": "exp:2",
                                   "answer_code": "200:9,486:1", "max_failed_pct": "12"})
    assert (profile["rate"], profile["duration"], profile["hold"], profile["self"]) == (
        5.0, 20.0, "exp:2", True)
    assert criteria == Criteria(max_failed_pct=12.0)
    targets, _ = form.read({"rate": 1, "calls": 3, "targets": "sip:a@127.0.0.1 sip:b@127.0.0.1"})
    assert targets["targets"] == ["sip:a@127.0.0.1", "sip:b@127.0.0.1"] and "self" not in targets
    for bad, why in (({"rate": "-1"}, "--rate"), ({"rate": "2"}, "calls > 0 or duration"),
                     ({"rate": "1", "duration": "1", "hold": "exp:x"}, "bad distribution"),
                     ({"report": "/tmp/r.json"}, "unknown field"),
                     ({"credentials": "/etc/shadow"}, "unknown field")):
        with pytest.raises(form.FormError, match=why):
            form.read(bad)
