"""The coordinator's Prometheus /metrics, scraped over real HTTP on loopback from a fleet of real
agents and read with prometheus_client's own parser; scrapers that stall; the CLI's options."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coordinator.client import Lib
from tests.helpers import Answerer, Recorder, free_tcp_port, stop, wait_for

CLI = [sys.executable, "-m", "coordinator.cli"]


class Scrape:
    """One /metrics response, parsed: families by name, each with samples."""

    def __init__(self, url: str) -> None:
        with urllib.request.urlopen(url, timeout=5) as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            text = r.read().decode()
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(self, family: str, sample: str = "", **labels: str) -> float:
        """The value of ``sample`` (default: the family's name) with exactly ``labels``; 0 when
        the family or the sample is absent (a family with nothing to show is left out)."""
        fam = self.families.get(family)
        found = [s.value for s in (fam.samples if fam else [])
                 if s.name == (sample or family) and s.labels == labels]
        assert len(found) <= 1, found
        return float(found[0]) if found else 0.0

    def labels(self, family: str, key: str) -> set[str]:
        return {s.labels[key] for s in self.families[family].samples}


@pytest.fixture
def fleet() -> Iterator[Lib]:
    lib = Lib.start_local(agents=2, coordinator_args=["--metrics-port", "0"])
    try:
        yield lib
    finally:
        lib.destroy()
    assert lib.exit_codes and set(lib.exit_codes.values()) == {0}, lib.exit_codes


def _metrics_url(lib: Lib) -> str:
    assert lib.fleet is not None and lib.fleet.metrics_url.startswith("http://127.0.0.1:")
    return lib.fleet.metrics_url


def _scraped(url: str, ready: Any, what: str) -> Scrape:
    """The first scrape for which ``ready(scrape)`` holds (the loop publishes once a second)."""
    last: list[Scrape] = []

    def check() -> bool:
        last[:] = [Scrape(url)]
        return bool(ready(last[0]))

    wait_for(check, 10, what)
    return last[0]


def _valid(scrape: Scrape, runs: bool = True) -> None:
    """Every family has samples, none is untyped, the setup histograms are histograms (the
    per-run one when ``runs``: a fleet that never ran a load run has none)."""
    empty = [name for name, f in scrape.families.items() if not f.samples]
    assert not empty, f"families without samples: {empty}"
    assert "unknown" not in {f.type for f in scrape.families.values()}
    for name in ("callfleet_load_setup_seconds", *(["callfleet_load_run_setup_seconds"] * runs)):
        family = scrape.families[name]
        assert family.type == "histogram"
        assert {s.name.removeprefix(name) for s in family.samples} == {"_bucket", "_count", "_sum"}


def _answered_call(lib: Lib) -> tuple[Recorder, Any]:
    bob_answer = Answerer()
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_answer)
    alice = lib.create_account("sip:alice@127.0.0.1")
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.reached("CONFIRMED"), 10, "the API call to be answered")
    return rec, call


def _ended_runs_as_reported(s: Scrape, ok: dict[str, Any], busy: dict[str, Any]) -> None:
    """Per run: 4 calls answered (ok), 3 refused with 486 (busy), as the test asked."""
    for run, started, answered in ((ok["run"], 4, 4), (busy["run"], 3, 0)):
        for outcome, n in (("started", started), ("answered", answered),
                           ("failed", started - answered)):
            assert s.value("callfleet_load_run_calls", "callfleet_load_run_calls_total",
                           run=run, outcome=outcome) == n
        assert s.value("callfleet_load_run_setup_seconds", "callfleet_load_run_setup_seconds_count",
                       run=run) == answered
    assert s.value("callfleet_load_run_failures", "callfleet_load_run_failures_total",
                   run=busy["run"], code="486") == 3
    assert s.labels("callfleet_load_run_failures", "run") == {busy["run"]}
    assert s.value("callfleet_load_runs") == 0 and "callfleet_load_active" not in s.families


def _totals_add_up(end: Scrape, last: dict[str, Any]) -> None:
    """Over every run: the two ended runs (7 calls, 4 answered, 3 x 486) and ``last``."""
    for outcome, n in (("started", 7 + last["attempted"]), ("answered", 4 + last["answered"]),
                       ("failed", 3 + last["failed"])):
        assert end.value("callfleet_load_calls", "callfleet_load_calls_total", outcome=outcome) == n
    assert end.value("callfleet_load_failures", "callfleet_load_failures_total", code="486") == (
        3 + last["failed_by_code"].get("486", 0))
    for sample, labels in (("_count", {}), ("_bucket", {"le": "+Inf"})):
        assert end.value("callfleet_load_setup_seconds", "callfleet_load_setup_seconds" + sample,
                         **labels) == 4 + last["answered"]


def test_metrics_parse_and_count_what_the_test_did(fleet: Lib) -> None:
    url = _metrics_url(fleet)
    agents = fleet.agents()
    first = _scraped(url, lambda s: s.value("callfleet_agents") == len(agents), "both agents")
    _valid(first, runs=False)
    assert "callfleet_load_run_calls" not in first.families
    assert first.value("callfleet_call_slots") == sum(a["capacity"] for a in agents)
    assert first.labels("callfleet_agent_calls", "agent") == {a["name"] for a in agents}
    ok = fleet.run_load({"rate": 8, "calls": 4, "hold": "0.2", "self": True}, timeout=60)
    busy = fleet.run_load({"rate": 8, "calls": 3, "hold": "0.2", "self": True,
                           "answer_codes": "486"}, timeout=60)
    assert (ok["answered"], busy["answered"], busy["failed_by_code"]) == (4, 0, {"486": 3})
    rec, call = _answered_call(fleet)  # two call legs through the API (caller and callee)
    status = fleet.status()
    s = _scraped(url, lambda s: s.value("callfleet_calls") == 2, "the API call's two legs")
    _valid(s)
    assert (s.value("callfleet_calls"), s.value("callfleet_accounts")) == (
        status["calls"], status["accounts"]) == (2, 2)
    _ended_runs_as_reported(s, ok, busy)
    call.hangup()
    wait_for(lambda: rec.reached("DISCONNECTED"), 10, "the API call's end")
    # a run in progress: its calls up, labelled by its run; then its end adds to the totals
    running = fleet.start_load({"rate": 2, "duration": 60, "hold": "3", "self": True})
    live = _scraped(url, lambda s: s.value("callfleet_load_active", run=running.run) >= 1,
                    "a call of the running run up")
    _valid(live)
    assert live.value("callfleet_load_runs") == 1
    assert live.labels("callfleet_load_active", "run") == {running.run}
    fleet.stop_load(running.run)
    assert running.finished.wait(20) and running.report is not None
    end = _scraped(url, lambda s: s.value("callfleet_load_runs") == 0, "the run's end")
    _valid(end)
    _totals_add_up(end, running.report)
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=5)
    assert exc.value.code == 404


def _still_open(sock: socket.socket) -> bool:
    """Neither closed by the peer nor reset (nothing to read either: the server sent nothing)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_idle_connections_to_the_metrics_port_stall_nothing() -> None:
    lib = Lib.start_local(agents=1, coordinator_args=["--metrics-port", "0"])
    try:
        url = urllib.parse.urlsplit(_metrics_url(lib))
        assert url.hostname is not None and url.port is not None
        idle = [socket.create_connection((url.hostname, url.port), timeout=5) for _ in range(10)]
        try:
            for sock in idle[:3]:  # a scraper that stops half-way through its request
                sock.sendall(b"GET /metrics HTTP/1.1\r\n")
            t0 = time.monotonic()
            for _ in range(10):
                lib.status()
            agents = lib.agents()
            took = time.monotonic() - t0
            # liveness, not speed: idle scrapers held the old in-loop server for seconds
            assert took < 2.0, f"10 lib.status and a lib.agents took {took:.2f} s"
            assert len(agents) == 1
            assert Scrape(_metrics_url(lib)).value("callfleet_agents") == 1
            assert all(_still_open(sock) for sock in idle), "the idle connections were held"
        finally:
            for sock in idle:
                sock.close()
    finally:
        lib.destroy()
    assert set(lib.exit_codes.values()) == {0}


def _one_line_exit_2(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert all(w in lines[0] for w in words), lines


def test_a_busy_metrics_port_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = str(held.getsockname()[1])
        url = "tcp://127.0.0.1:*"
        out = subprocess.run(CLI + ["coordinator", "--agents-bind", url, "--clients-bind", url,
                                    "--events-bind", url, "--metrics-port", port],
                             capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        _one_line_exit_2(out, port, "in use")
        # `load` finds out before it starts a fleet, `up` before it starts supervisord
        for command in (["load", "--self", "-m", "1"], ["up", "--dir", str(tmp_path / "up")]):
            out = subprocess.run(CLI + [*command, "--metrics-port", port], capture_output=True,
                                 text=True, timeout=30, stdin=subprocess.DEVNULL)
            _one_line_exit_2(out, port, "in use")
            assert "embedded fleet" not in out.stdout and "supervisord" not in out.stdout
    assert not (tmp_path / "up").exists()


def test_load_against_a_coordinator_refuses_metrics_port() -> None:
    out = subprocess.run(CLI + ["load", "--self", "-m", "1", "--coordinator",
                                "tcp://127.0.0.1:5601", "--metrics-port", "9100"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    _one_line_exit_2(out, "--metrics-port", "embedded fleet")


def test_up_serves_metrics_on_the_port_it_is_given(tmp_path: Path) -> None:
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    port = free_tcp_port()
    up = subprocess.Popen(CLI + ["up", "--agents", "1", "--agents-bind", urls["agents"],
                                 "--clients-bind", urls["clients"], "--events-bind", urls["events"],
                                 "--dir", str(tmp_path / "up"), "--metrics-port", str(port)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        def one_agent() -> bool:
            try:
                return Scrape(f"http://127.0.0.1:{port}/metrics").value("callfleet_agents") == 1
            except OSError:
                return False

        wait_for(one_agent, 40, "supervisord's coordinator to serve /metrics with its agent")
    finally:
        code = stop(up, 30)  # SIGTERM, then SIGKILL after 30 s
    assert code == 0
