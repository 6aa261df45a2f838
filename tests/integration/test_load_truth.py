"""Load runs as an operator runs them (`callfleet load` against a running fleet): every call
counted once against SIPp's own count, the verdict and its exit code, Ctrl-C, checks before
anything starts, load calls in the fleet's status, no catch-up burst after a stall, and the
HTML report in a real browser."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import Lib
from tests.helpers import free_udp_port, start_sipp, stop, wait_for

SCENARIOS = Path(__file__).parent / "scenarios"
CLI = [sys.executable, "-m", "coordinator.cli", "load"]


def _load(lib: Lib, *argv: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "--coordinator", lib.session.url, *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_every_call_is_counted_once_as_sipp_counted_it(lib: Lib, tmp_path: Path) -> None:
    """Half the calls go to a SIPp that answers, half to one that answers 486 Busy Here: each
    SIPp ends (-m 10) only after exactly its 10 calls."""
    ok_port, busy_port = free_udp_port(), free_udp_port()
    ok = start_sipp(["-sn", "uas", "-p", str(ok_port), "-m", "10"], tmp_path)
    busy = start_sipp(["-sf", str(SCENARIOS / "uas_486.xml"), "-p", str(busy_port), "-m", "10"],
                      tmp_path)
    try:
        out = _load(lib, "-r", "10", "-m", "20", "-d", "0.3", "--max-failed-pct", "60",
                    "--target", f"sip:ok@127.0.0.1:{ok_port}",
                    "--target", f"sip:busy@127.0.0.1:{busy_port}", "--report", "r.json",
                    cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert ok.wait(15) == 0 and busy.wait(15) == 0  # each saw its 10 calls, no more
    finally:
        stop(ok)
        stop(busy)
    r = json.loads((tmp_path / "r.json").read_text())
    assert (r["attempted"], r["answered"], r["completed"], r["failed"], r["lost"]) == (
        20, 10, 10, 10, 0)
    assert r["failed_by_code"] == {"486": 10}
    assert sum(r["failed_by_reason"].values()) == 10
    assert "failed         10   486: 10" in out.stdout
    assert r["verdict"]["passed"] is True and r["verdict"]["exit_code"] == 0


def test_a_run_short_of_its_rate_fails_its_rate_criterion(lib: Lib, tmp_path: Path) -> None:
    # one call at a time, each held 1 s: about 1 call/s of the 10 asked
    argv = ["--self", "-r", "10", "--duration", "4", "-l", "1", "-d", "1", "--report", "r.json"]
    out = _load(lib, *argv, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    failed = [c["criterion"] for c in r["verdict"]["checks"] if not c["passed"]]
    assert failed == ["rate achieved"], r["verdict"]
    assert r["achieved_pct"] < 50 and r["failed"] == 0
    assert "FAIL  rate achieved" in out.stdout and "result         FAIL" in out.stdout


def test_ctrl_c_stops_the_run_on_the_fleet_and_writes_every_report(lib: Lib,
                                                                   tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "--coordinator", lib.session.url, "--self", "-r", "4", "--duration", "300",
         "-d", "1", "--report", "r.json", "--csv", "r.csv", "--html", "r.html"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]  # three seconds of progress
        assert all("started" in line for line in lines), lines
        assert [r["run"] for r in lib.status()["loads"]]
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, rest + err
    assert "result         INTERRUPTED" in rest
    wait_for(lambda: not lib.status()["loads"], 5, "the run to be gone from the fleet")
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["interrupted"] is True and r["stopped"] is True and r["verdict"]["exit_code"] == 3
    assert r["completed"] + r["failed"] + r["lost"] == r["attempted"] > 0
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(rows) >= 4 and rows[0].startswith("timestamp,t,")
    assert "INTERRUPTED" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize(("argv", "says"), [
    ([], "calls > 0 or duration > 0"),
    (["-m", "1", "--report", "/nonexistent/dir/r.json"], "no directory /nonexistent/dir"),
    (["-m", "1", "--answer-code", "200:x"], "answer"),
    (["--duration", "-5"], "not a number >= 0"),
    (["-m", "1", "--rat", "10"], "unrecognized arguments: --rat"),
])
def test_bad_options_fail_at_once_before_any_fleet(tmp_path: Path, argv: list[str],
                                                   says: str) -> None:
    t0 = time.monotonic()
    out = subprocess.run([*CLI, *argv], cwd=tmp_path, capture_output=True, text=True,
                         timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out.stdout + out.stderr
    assert says in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == "" and "embedded fleet" not in out.stderr  # nothing was started
    assert "fleet at" not in out.stderr
    assert time.monotonic() - t0 < 5


def test_load_calls_count_in_the_fleets_status(lib: Lib) -> None:
    seen: list[dict[str, Any]] = []
    watch = lib.start_load({"rate": 4, "duration": 30, "hold": "2", "self": True},
                           on_progress=seen.append)
    try:
        wait_for(lambda: bool(seen) and seen[-1]["active"] >= 3, 15, "calls up in the run")
        status = lib.status()
        up = seen[-1]["active"]
        # each self call takes a slot at each end: the status counts both legs
        assert status["calls"] >= up > 0
        assert sum(a["calls"] for a in status["agents"]) == status["calls"]
        assert all(a["free"] <= a["capacity"] - a["calls"] for a in status["agents"])
    finally:
        lib.stop_load(watch.run)
        assert watch.finished.wait(15)
    wait_for(lambda: lib.status()["calls"] == 0, 10, "the run's calls to leave the status")


def test_a_stalled_agent_does_not_catch_up_in_a_burst(lib1: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port)], tmp_path)
    seen: list[dict[str, Any]] = []
    try:
        watch = lib1.start_load({"rate": 10, "duration": 9, "hold": "0.1",
                                 "targets": [f"sip:uas@127.0.0.1:{port}"]},
                                on_progress=seen.append)
        wait_for(lambda: len(seen) >= 3, 10, "three seconds of calls")
        pid = lib1.agents()[0]["pid"]
        os.kill(pid, signal.SIGSTOP)  # 2 s: less than the 3 s after which it is lost
        time.sleep(2.0)  # the stall itself is what is tested
        os.kill(pid, signal.SIGCONT)
        assert watch.finished.wait(30)
    finally:
        stop(uas)
    report = watch.report
    assert report is not None and report["lost_agents"] == []
    # at 10 calls/s a 2 s stall leaves 20 calls due: a catch-up would start them at once. The
    # rate is measured on the agent's clock (a row's interval_started sums the reports that
    # arrived in the coordinator's second, so one late report can put two seconds in one row)
    assert max(r["rate"] for r in report["timeseries"]) <= 16, report["timeseries"]
    assert report["attempted"] < 85  # about 7 s of calls in a 9 s run


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_the_html_report_renders_in_chromium_without_console_errors(lib: Lib,
                                                                    tmp_path: Path) -> None:
    out = _load(lib, "--self", "-r", "10", "-m", "20", "-d", "0.5", "--answer-code",
                "200:3,486:1", "--max-failed-pct", "100", "--min-rate-pct", "0", "--html", "r.html",
                cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    page = (tmp_path / "r.html").as_uri()
    chrome = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
              "--v=0", "--window-size=1280,2600"]
    dom = subprocess.run([*chrome, "--dump-dom", page], capture_output=True, text=True,
                         timeout=60, stdin=subprocess.DEVNULL)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count("<svg") == 1 and dom.stdout.count("<path") > 50
    assert "Verdict" in dom.stdout and "Failures by code" in dom.stdout
    shot = subprocess.run([*chrome, f"--screenshot={tmp_path / 'page.png'}", page],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert shot.returncode == 0
    for log in (dom.stderr, shot.stderr):
        console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        assert console == [], console
    from matplotlib.image import imread  # the report extra, as the page's charts

    pixels = imread(str(tmp_path / "page.png"))
    colours = {tuple(p) for p in pixels[::7, ::7, :3].reshape(-1, 3).round(2).tolist()}
    assert len(colours) > 50, "the charts were drawn"


def test_any_shell_lists_steers_and_stops_a_run(lib: Lib) -> None:
    seen: list[dict[str, Any]] = []
    watch = lib.start_load({"rate": 4, "duration": 120, "hold": "0.5", "self": True},
                           on_progress=seen.append)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "coordinator.cli", *argv, "--coordinator",
                               lib.session.url], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL)

    wait_for(lambda: len(seen) >= 2, 10, "the run going")
    runs = cli("runs")
    assert runs.returncode == 0 and watch.run in runs.stdout and "TARGET" in runs.stdout
    rate = cli("rate", watch.run, "2")
    assert rate.returncode == 0, rate.stderr
    wait_for(lambda: seen[-1]["target_rate"] == 2, 5, "the new target in the run's progress")
    stopped = cli("stop", watch.run)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
    assert watch.finished.wait(5) and watch.report is not None
    assert watch.report["stopped"] is True
    missing = cli("stop", watch.run)
    assert missing.returncode == 2 and "E_NOT_FOUND" in missing.stderr
    assert "Traceback" not in missing.stderr and "-." not in missing.stderr
    assert cli("runs").stdout.strip() == "no load run"
