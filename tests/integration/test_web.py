"""The live dashboard in a real browser (headless Chromium under Selenium) against a real fleet:
the page loads clean and shows the agents as the fleet lists them; a run started from the
command line appears, its counters and charts move, and its final figures are its JSON report's;
the stop button stops a long run; the rate control changes the rate the agents achieve."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from coordinator.client import Lib
from tests.browser import (
    attr,
    chromium,
    console_errors,
    counter,
    needs_chromium,
    text,
    texts,
    web_process,
)
from tests.helpers import wait_for

pytestmark = needs_chromium


def _click(driver: Any, css: str) -> None:
    """Click what ``css`` selects, found and clicked in one script: the page redraws its tables
    each second, so an element found first and clicked next may be gone by then (stale)."""
    assert driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e", css), css


def _updates(driver: Any) -> int:
    return int(driver.execute_script("return window.callfleetDashboard.updates"))


def _canvas(driver: Any, chart: str) -> str:
    return str(driver.execute_script(
        f"return document.querySelector('#{chart} canvas').toDataURL()"))


def test_the_fleet_page_loads_clean_and_shows_the_agents(lib: Lib) -> None:
    agents = {a["name"]: a for a in lib.agents()}
    with web_process(lib.url) as web, chromium() as driver:
        driver.get(web.address)
        wait_for(lambda: len(texts(driver, "#agents tbody tr")) == 2, 15, "the agents' rows")
        for name, a in agents.items():
            row = f'#agents tr[data-agent="{name}"]'
            assert text(driver, row + " td:nth-child(3)") == str(a["pid"])
            assert text(driver, row + " td:nth-child(4)") == ", ".join(a["sip"])
            assert attr(driver, row + " [data-lifecycle]", "data-lifecycle") == "joined"
        assert counter(driver, "agents") == 2
        assert text(driver, "#conn") == "live"
        wait_for(lambda: text(driver, "#role") == "control", 10, "the role the coordinator gave")
        assert "protocol v1" in text(driver, "#coord")
        assert console_errors(driver) == []


def test_a_cli_run_moves_live_and_ends_with_its_report_figures(lib: Lib, tmp_path: Path) -> None:
    load = subprocess.Popen(
        [sys.executable, "-m", "coordinator.cli", "load", "--coordinator", lib.url, "--self",
         "-r", "8", "--duration", "8", "-d", "0.4", "--answer-code", "200:4,486:1",
         "--max-failed-pct", "100", "--quiet", "--report", "r.json"], cwd=tmp_path,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with web_process(lib.url) as web, chromium() as driver:
            driver.get(web.address)
            wait_for(lambda: texts(driver, "#runs tbody a") != [], 20,
                     "the command line's run on the page")
            _click(driver, "#runs tbody a")
            wait_for(lambda: (counter(driver, "attempted") or 0) > 0, 15, "calls counted")
            first, points = counter(driver, "attempted") or 0, attr(driver, "#chart-rate",
                                                                      "data-points")
            picture = _canvas(driver, "chart-rate")
            wait_for(lambda: (counter(driver, "attempted") or 0) > first
                     and attr(driver, "#chart-rate", "data-points") != points, 10,
                     "the counters and the charts to move")
            assert _canvas(driver, "chart-rate") != picture
            assert load.wait(60) in (0, 1), load.stderr.read() if load.stderr else ""
            wait_for(lambda: text(driver, "#run-state").startswith("finished"), 15,
                     "the run's report on the page")
            report = json.loads((tmp_path / "r.json").read_text())
            _same_figures(driver, report)
            run = report["run"]
            status, body, _ = web.request(f"/runs/{run}/report.json")
            assert status == 200
            page = json.loads(body)
            assert {k: page[k] for k in ("attempted", "failed_by_code", "setup_ms", "timeseries")} \
                == {k: report[k] for k in ("attempted", "failed_by_code", "setup_ms", "timeseries")}
            status, csv, _ = web.request(f"/runs/{run}/report.csv")
            assert status == 200 and len(csv.strip().splitlines()) == len(report["timeseries"]) + 1
            status, html, _ = web.request(f"/runs/{run}/report.html")
            assert status == 200 and "<svg" in html and run in html
            assert console_errors(driver) == []
    finally:
        _reap(load)


def _reap(load: subprocess.Popen[str]) -> None:
    """The `callfleet load` child gone (killed if the test left it running), its pipe closed."""
    if load.poll() is None:
        load.kill()
    load.wait(10)
    if load.stderr is not None:
        load.stderr.close()


def _same_figures(driver: Any, report: dict[str, Any]) -> None:
    """The page's counters, failures by code and verdict are the report's."""
    for key in ("attempted", "answered", "completed", "failed", "lost", "active"):
        assert counter(driver, key) == report[key], key
    for p in ("p50", "p95", "p99"):
        assert counter(driver, f"setup_{p}") == report["setup_ms"][p], p
    assert counter(driver, "rate") == report["achieved_rate"]
    assert report["failed"] > 0 and report["failed"] == sum(report["failed_by_code"].values())
    for code, n in report["failed_by_code"].items():
        assert text(driver, f'#codes [data-code="{code}"] .num') == f"{n:,}"
    # the same criteria as the command line's (its limits are its own: --max-failed-pct 100)
    shown = texts(driver, "#verdict tbody td:nth-child(2)")
    assert shown == [c["criterion"] for c in report["verdict"]["checks"]]


def test_the_stop_button_stops_a_long_run(lib: Lib) -> None:
    watch = lib.start_load({"rate": 4, "duration": 600, "hold": "0.5", "self": True})
    try:
        with web_process(lib.url) as web, chromium() as driver:
            driver.get(f"{web.address}#/run/{watch.run}")
            wait_for(lambda: (counter(driver, "attempted") or 0) > 0, 20, "the run on its page")
            t0, first = time.monotonic(), _updates(driver)
            wait_for(lambda: _updates(driver) >= first + 3, 10, "three more updates")
            # batched: one update a second, whatever the events in between
            assert _updates(driver) - first <= time.monotonic() - t0 + 1.5
            wait_for(lambda: driver.find_element("css selector", "#stop-button").is_displayed(),
                     10, "the stop button")
            _click(driver, "#stop-button")
            wait_for(lambda: lib.status()["loads"] == [], 15, "the run gone from the fleet")
            assert watch.finished.wait(10) and watch.report is not None
            assert watch.report["stopped"] is True
            wait_for(lambda: text(driver, "#run-state") == "finished (stopped)", 10,
                     "the page to say it stopped")
            assert counter(driver, "attempted") == watch.report["attempted"]
            assert not driver.find_element("css selector", "#stop-button").is_displayed()
            assert console_errors(driver) == []
    finally:
        if not watch.finished.is_set():
            lib.stop_load(watch.run)
            watch.finished.wait(15)


def test_the_rate_control_changes_the_achieved_rate(lib3: Lib) -> None:
    seen: list[dict[str, Any]] = []
    watch = lib3.start_load({"rate": 3, "duration": 600, "hold": "0.3", "self": True},
                            on_progress=seen.append)
    try:
        with web_process(lib3.url) as web, chromium() as driver:
            driver.get(f"{web.address}#/run/{watch.run}")
            wait_for(lambda: len(seen) >= 6, 20, "the run at its first rate")
            assert 2 <= seen[-1]["rate_window"] <= 4, seen[-1]
            field = driver.find_element("css selector", "#rate-input")
            wait_for(field.is_displayed, 10, "the rate control")
            field.clear()
            field.send_keys("12")
            _click(driver, "#rate-button")
            wait_for(lambda: seen[-1]["target_rate"] == 12, 10, "the new rate asked")
            at = len(seen)
            wait_for(lambda: len(seen) >= at + 7, 15, "the window filled at the new rate")
            # the agents' own count (the run's progress to its owner) says the rate changed
            assert 10 <= seen[-1]["rate_window"] <= 13.5, seen[-1]
            wait_for(lambda: (counter(driver, "rate") or 0) >= 10, 5, "the page to show it")
            assert counter(driver, "asked") == 12
            assert console_errors(driver) == []
    finally:
        lib3.stop_load(watch.run)
        assert watch.finished.wait(20)


def test_a_run_started_from_the_form_runs_with_its_options_and_criteria(lib: Lib) -> None:
    with web_process(lib.url) as web, chromium() as driver:
        driver.get(web.address)
        wait_for(lambda: text(driver, "#role") == "control", 15, "the control role")
        _click(driver, "#start-panel summary")
        fields = {"rate": "6", "duration": "3", "hold": "0.3", "answer_code": "200:2,486:1",
                  "max_failed_pct": "60"}
        for name, value in fields.items():
            box = driver.find_element("css selector", f'#start-form [name="{name}"]')
            box.clear()
            box.send_keys(value)
        _click(driver, "#start-button")
        wait_for(lambda: driver.current_url.split("#/run/")[-1] != driver.current_url, 10,
                 "the new run's page")
        run = driver.current_url.split("#/run/")[1]
        wait_for(lambda: text(driver, "#run-state").startswith("finished"), 30, "its report")
        report = web.state(run)["run"]
        assert report["started_here"] and report["profile"]["rate"] == 6
        assert report["profile"]["answer_codes"] == "200:2,486:1"
        assert report["verdict"]["criteria_from"] == "the form that started it"
        assert report["verdict"]["checks"][1]["limit"] == "<= 60%"
        status, body, _ = web.request(f"/runs/{run}/report.json")
        full = json.loads(body)
        assert status == 200 and full["profile"]["duration"] == 3
        assert counter(driver, "attempted") == full["attempted"] > 0
        assert sum(full["failed_by_code"].values()) == full["failed"]
        assert console_errors(driver) == []


def test_a_scenario_runs_steps_on_the_page_are_its_reports(lib: Lib, tmp_path: Path) -> None:
    """The "Scenario steps" panel: one row per step of each leg, with the report's counts, and
    a failing step's failures in red (a digit the callee does not get: on_failure fail)."""
    flow = {"name": "web steps",
            "caller": [{"op": "call"}, {"op": "wait", "state": "confirmed"},
                       {"op": "dtmf", "digits": "1"}, {"op": "pause", "s": "0.5"},
                       {"op": "hangup"}],
            "callee": [{"op": "answer", "ring": 0.2},
                       {"op": "expect_dtmf", "digits": "2", "timeout": 3}]}
    (tmp_path / "flow.json").write_text(json.dumps(flow))
    load = subprocess.Popen(
        [sys.executable, "-m", "coordinator.cli", "load", "--coordinator", lib.url, "--self",
         "-r", "2", "-m", "6", "--scenario", "flow.json", "--quiet", "--report", "r.json",
         "--csv", "r.csv"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    try:
        with web_process(lib.url) as web, chromium() as driver:
            driver.get(web.address)
            wait_for(lambda: texts(driver, "#runs tbody a") != [], 20, "the run on the page")
            _click(driver, "#runs tbody a")
            assert load.wait(60) == 1, load.stderr.read() if load.stderr else ""  # FAIL
            wait_for(lambda: text(driver, "#run-state").startswith("finished"), 15,
                     "the run's report on the page")
            report = json.loads((tmp_path / "r.json").read_text())
            assert text(driver, "#steps-name") == "web steps"
            rows = texts(driver, "#steps tbody tr")
            # every step, the caller's hangup too, which no call reached: the callee hung up on
            # the wrong digit first
            assert len(rows) == len(report["steps"]) == 7
            for s in report["steps"]:
                row = f'#steps tr[data-step="{s["leg"]}.{s["step"]}"]'
                assert text(driver, row + " td:nth-child(3)") == s["op"]
                assert text(driver, row + " td:nth-child(4)") == str(s["ok"])
                assert text(driver, row + " td:nth-child(5)") == str(s["failed"])
            assert text(driver, '#steps tr[data-step="caller.5"] td:nth-child(4)') == "0"
            wrong = '#steps tr[data-step="callee.2"]'
            assert text(driver, wrong + " td:nth-child(5)") == "6"
            assert "fail" in (attr(driver, wrong + " td:nth-child(5)", "class") or "")
            assert text(driver, wrong + " td:nth-child(9)") == "got 1: 6"
            shown = texts(driver, "#verdict tbody td:nth-child(2)")
            assert "callee step 2 (expect_dtmf)" in shown
            assert console_errors(driver) == []
            _check_step_columns(tmp_path / "r.csv", report, web.request(f"/runs/{report['run']}/report.csv"))
    finally:
        _reap(load)


def _check_step_columns(path: Path, report: dict[str, Any],
                        served: tuple[int, str, Any]) -> None:
    """The CSV's step columns (each step's calls passed, failed, p95 so far): every step of the
    flow in order, counts that only grow, the call step passed by each call placed (the run's
    own ``started`` column, counted apart), the failing step's failures by the end; the
    dashboard's CSV has the same step columns with the same figures."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    steps = [k for k in rows[0] if k.count(".") == 3]
    assert steps[:3] == ["caller.1.call.ok", "caller.1.call.failed", "caller.1.call.p95_ms"]
    assert [k.rsplit(".", 1)[0] for k in steps[::3]] == [
        "caller.1.call", "caller.2.wait", "caller.3.dtmf", "caller.4.pause", "caller.5.hangup",
        "callee.1.answer", "callee.2.expect_dtmf"]
    live = [r for r in rows if r["caller.1.call.ok"] != ""]
    assert live and all(r["caller.1.call.ok"] == r["started"] for r in live)
    for key in steps:
        if not key.endswith(".p95_ms"):
            seen = [int(r[key] or 0) for r in live]
            assert seen == sorted(seen), key
    final = {(s["leg"], s["step"]): s for s in report["steps"]}
    assert int(live[-1]["callee.2.expect_dtmf.failed"]) <= final[("callee", 2)]["failed"] == 6
    status, body, _ = served
    assert status == 200
    page = {r["t"]: r for r in csv.DictReader(io.StringIO(body))}
    for row in live:
        if row["t"] in page:
            assert {k: page[row["t"]].get(k) for k in steps} == {k: row[k] for k in steps}
