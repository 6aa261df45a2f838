"""Load runs on real fleets: self-answering, against SIPp, rejected, steered mid-run, over
capacity. Exit statuses of every agent are checked by the fixture (no abort)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import Lib
from tests.helpers import free_udp_port, start_sipp, stop, wait_for
from tests.integration.conftest import start_fleet

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture
def lib8() -> Iterator[Lib]:
    yield from start_fleet(8)


def test_self_run_of_200_calls_on_8_agents(lib8: Lib) -> None:
    progress: list[dict[str, Any]] = []
    report = lib8.run_load({"rate": 20, "calls": 200, "hold": "1", "self": True, "dtmf": "123"},
                           on_progress=progress.append, timeout=120)
    summary = {k: report.get(k) for k in ("attempted", "answered", "failed", "failed_by_reason",
                                          "incoming", "unplaced", "end_reason", "lost_agents",
                                          "refused_agents", "elapsed_s")}
    assert report["attempted"] == 200, summary
    assert report["answered"] == 200, summary
    assert report["failed"] == 0 and report["failed_by_code"] == {}, summary
    assert report["incoming"] == 200
    assert report["dtmf"] == {"digits": "123", "verified": 200, "missed": 0}
    assert report["success"] is True
    assert len(report["agents"]) == 8 and report["lost_agents"] == []
    assert report["setup_ms"]["count"] == 200 and report["setup_ms"]["p50"] > 0
    assert 900 <= report["duration_ms"]["p50"] <= 1200
    assert progress and progress[-1]["answered"] <= 200
    assert report["timeseries"] and report["timeseries"][-1]["started"] <= 200
    assert lib8.status()["accounts"] == 0  # the run's accounts are gone
    assert lib8.missed_events == 0, "the run's own events (progress, done) come without a gap"


def test_self_run_verifies_info_dtmf(lib: Lib) -> None:
    report = lib.run_load({"rate": 4, "calls": 6, "hold": "1", "self": True, "dtmf": "9#",
                           "dtmf_method": "info"}, timeout=60)
    assert report["answered"] == 6
    assert report["dtmf"] == {"digits": "9#", "verified": 6, "missed": 0}
    assert report["success"] is True


def test_run_against_sipp_uas(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "20"], tmp_path)
    try:
        report = lib.run_load({"rate": 10, "calls": 20, "hold": "0.3",
                               "targets": [f"sip:service@127.0.0.1:{port}"]}, timeout=60)
        assert (report["attempted"], report["answered"], report["failed"]) == (20, 20, 0)
        assert report["incoming"] == 0 and report["success"] is True
        assert uas.wait(15) == 0
    finally:
        stop(uas)


def test_rejecting_target_reports_the_codes(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    busy = start_sipp(["-sf", str(SCENARIOS / "uas_486.xml"), "-p", str(port), "-m", "10"],
                      tmp_path)
    try:
        report = lib.run_load({"rate": 10, "calls": 10, "hold": "1",
                               "targets": [f"sip:busy@127.0.0.1:{port}"]}, timeout=60)
        assert report["attempted"] == 10 and report["answered"] == 0
        assert report["failed_by_code"] == {"486": 10}
        assert report["asr"] == 0.0 and report["success"] is False
    finally:
        stop(busy)


def test_self_run_with_mixed_answer_codes(lib: Lib) -> None:
    report = lib.run_load({"rate": 10, "calls": 20, "hold": "0.2", "self": True,
                           "answer_codes": "200:1,503:1", "answer_delay": 0.1}, timeout=60)
    assert report["attempted"] == 20
    assert report["answered"] + report["failed_by_code"].get("503", 0) == 20
    assert set(report["failed_by_code"]) <= {"503"}


def test_rate_change_and_stop_take_effect_quickly(lib3: Lib) -> None:
    seen: list[dict[str, Any]] = []
    # 1/s, then 6/s: 6/s x ~0.5 s per self-answered call x 2 legs stays well inside the 12 slots
    # of 3 agents, so the new rate is limited by the schedule, not by capacity
    watch = lib3.start_load({"rate": 1, "duration": 60, "hold": "0.2", "self": True},
                            on_progress=seen.append)
    wait_for(lambda: len(seen) >= 2, 10, "two progress reports at 1/s")
    lib3.set_load_rate(watch.run, 6)
    changed_at = len(seen)
    wait_for(lambda: len(seen) >= changed_at + 5, 12, "five reports after the change")
    # the three seconds after the first one run at the new rate: at 1/s they would start ~3
    # calls, at 6/s ~18. Each agent reports its starts once a second on its own clock, so a
    # count over a few seconds is off by up to one report (2 calls) per agent: hence 10
    three_seconds = seen[changed_at + 4]["started"] - seen[changed_at + 1]["started"]
    assert three_seconds >= 10, seen
    assert seen[changed_at + 1]["target_rate"] == 6
    started_at_stop = seen[-1]["started"]
    t_stop = time.monotonic()
    lib3.stop_load(watch.run)
    assert watch.finished.wait(10), "load.done after stop"
    assert time.monotonic() - t_stop < 5
    report = watch.report
    assert report is not None and report["stopped"] is True
    # at most about one more second of calls was started after the stop
    assert report["attempted"] <= started_at_stop + 2 * 6
    assert report["elapsed_s"] < 30


def test_run_larger_than_the_fleet_reports_the_shortfall(lib: Lib) -> None:
    # 2 agents hold 4 self-answered calls at once: 40/s with 1 s hold is ~10x too much
    report = lib.run_load({"rate": 40, "calls": 40, "hold": "1", "self": True}, timeout=120)
    assert report["delayed_for_capacity"] > 0
    assert report["attempted"] == 40 and report["answered"] == 40 and report["failed"] == 0
    assert report["achieved_rate"] < 10
    assert len(lib.agents()) == 2


def test_load_cli_writes_report_and_csv(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "coordinator.cli", "load", "--self", "-m", "10",
                          "-r", "10", "-d", "0.2", "--embedded", "--agents", "2", "--report",
                          str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv"),
                          "--plot", str(tmp_path / "r.png")],
                         capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "result         PASS" in out.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["attempted"], report["answered"], report["success"]) == (10, 10, True)
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert rows[0].startswith("timestamp,t,target_rate,rate,rate_window,") and len(rows) >= 2
    assert "embedded fleet of 2 agents" in out.stderr
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_load_cli_exit_status_is_1_when_calls_fail(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "coordinator.cli", "load", "-m", "4", "-r", "4",
                          "--embedded", "--agents", "1", "--answer-code", "486"],
                         capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "486: 4" in out.stdout and "FAIL" in out.stdout


def test_progress_is_delivered_on_the_callback_thread(lib: Lib) -> None:
    threads: set[str] = set()
    lib.run_load({"rate": 5, "calls": 10, "hold": "0.5", "self": True},
                 on_progress=lambda p: threads.add(threading.current_thread().name), timeout=60)
    assert threads == {"callfleet-callbacks"}


def test_status_shows_a_running_load_run(lib: Lib) -> None:
    from coordinator.cli.status import format_agents

    watch = lib.start_load({"rate": 4, "duration": 30, "hold": "0.2", "self": True})
    wait_for(lambda: bool(lib.status()["loads"]) and lib.status()["loads"][0]["started"] > 0,
             10, "the run to show in lib.status")
    status = lib.status()
    assert [r["run"] for r in status["loads"]] == [watch.run]
    assert f"load run {watch.run}:" in format_agents(status)
    lib.stop_load(watch.run)
    assert watch.finished.wait(10)
    assert lib.status()["loads"] == []
