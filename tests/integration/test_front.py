"""One SIP address for the fleet: `callfleet front` (Kamailio's dispatcher, generated config)
in front of real agents, an account on every agent (replicas="all"), and SIPp calling the
front. Every figure is checked against SIPp's own counts and Kamailio's log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.client import Lib
from tests.front import Front, Tally, answering_front, sipp_stats, sipp_uac
from tests.helpers import free_tcp_port, free_udp_port, start_sipp, stop, wait_for
from tests.integration.conftest import start_fleet


@pytest.fixture
def lib8() -> Iterator[Lib]:
    yield from start_fleet(8)


@pytest.fixture
def lib4() -> Iterator[Lib]:
    yield from start_fleet(4)


def test_front_spreads_400_calls_over_12_agents_without_a_failure(lib12: Lib, tmp_path: Path) -> None:
    tally, front = answering_front(lib12, tmp_path, 12)
    try:
        uac = start_sipp(sipp_uac(front, "-r", "20", "-l", "40", "-m", "400",
                                   "-d", "1000"), tmp_path)
        rc = uac.wait(150)
        stats = sipp_stats(tmp_path)
        assert rc == 0 and stats["successful"] == 400 and stats["failed"] == 0, (stats, rc)
        wait_for(lambda: tally.up == 0 and sum(tally.ended.values()) == 400, 15,
                 "every call to end at the agents")
        assert tally.confirmed == 400 and sum(tally.agents.values()) == 400
        assert set(tally.agents) == {a["name"] for a in lib12.agents()}, tally.agents
        # the calls report the front's address as the one they were called on
        assert set(tally.called) == {f"sip:bob@{front.hostport}"}, tally.called
        assert front.count("CF-FULL") == 0
    finally:
        front.stop()


def test_a_full_fleet_answers_486_only_to_the_calls_beyond_its_capacity(lib8: Lib,
                                                                        tmp_path: Path) -> None:
    """8 agents hold 32 calls; SIPp keeps 40 up: the calls that find all 32 slots taken, and
    only those, get 486 (Kamailio logs CF-FULL once it tried every agent)."""
    tally, front = answering_front(lib8, tmp_path, 8)
    try:
        uac = start_sipp(sipp_uac(front, "-r", "25", "-l", "40", "-m", "200",
                                   "-d", "3000"), tmp_path)
        uac.wait(150)
        stats = sipp_stats(tmp_path)
        wait_for(lambda: tally.up == 0, 15, "every call to end at the agents")
        assert stats["failed"] > 0, stats
        assert stats["unexpected"] == {486: stats["failed"]}, stats
        assert front.count("CF-FULL") == stats["failed"]
        assert stats["successful"] == tally.confirmed == 200 - stats["failed"]
        assert tally.peak == 32  # the fleet was full, never more than full
    finally:
        front.stop()


def test_a_self_run_through_the_front_takes_the_outside_callers_path(lib4: Lib,
                                                                     tmp_path: Path) -> None:
    """`load --self --via-front`: the agents call the answering identity at the front. The run's
    answer-code mix is honoured (a rejection is final: the front logs CF-FINAL and tries no
    other agent), and every call passed through Kamailio."""
    front = Front(lib4.url, tmp_path).start(agents=4)
    try:
        before = front.transactions()
        report = lib4.run_load({"rate": 10, "calls": 60, "hold": "0.3", "self": True,
                                "front": f"sip:{front.hostport}", "answer_codes": "200:80,486:20"},
                               timeout=90)
        rejected = report["failed_by_code"].get("486", 0)
        assert report["attempted"] == 60 and report["answered"] + rejected == 60, report
        assert set(report["failed_by_code"]) <= {"486"} and rejected > 0
        assert report["incoming"] == 60  # no rejection was offered to another agent
        assert front.count("CF-FINAL") == rejected and front.count("CF-FULL") == 0
        assert front.transactions() - before >= 60  # each INVITE went through the front
        assert report["lost_agents"] == []
    finally:
        front.stop()


def test_up_sip_front_is_restarted_by_supervisord_and_keeps_working(tmp_path: Path) -> None:
    """`callfleet up --sip-front`: calls through the front; its Kamailio killed, supervisord
    restarts the front program, which lists the agents again and carries calls; Ctrl-C (here
    SIGTERM) stops everything."""
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    port = free_udp_port()
    workdir = tmp_path / "up"
    up = subprocess.Popen([sys.executable, "-m", "coordinator.cli", "up", "--agents", "2",
                           "--agents-bind", urls["agents"], "--clients-bind", urls["clients"],
                           "--events-bind", urls["events"], "--sip-front", f"127.0.0.1:{port}",
                           "--dir", str(workdir)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    lib: Lib | None = None
    try:
        def connected() -> bool:
            nonlocal lib
            try:
                lib = lib or Lib.connect(urls["clients"], timeout=5)
            except Exception:
                return False
            return len(lib.agents()) == 2

        wait_for(connected, 30, "supervisord to start the coordinator and 2 agents")
        assert lib is not None
        tally = Tally()
        lib.create_account("sip:bob@127.0.0.1", cb=tally, auto_answer=200, replicas="all")
        front = Front(urls["clients"], tmp_path, port)
        front.dir = workdir / "front"
        front.wait_listed(2, 30)
        pidfile = front.dir / "kamailio.pid"
        wait_for(pidfile.exists, 10, "Kamailio's pid file")

        def calls(n: int, where: Path) -> dict[str, object]:
            where.mkdir()
            uac = start_sipp(sipp_uac(front, "-r", "10", "-m", str(n), "-d", "200"), where)
            assert uac.wait(60) == 0, (where / "sipp.out").read_text(errors="replace")[-1500:]
            return sipp_stats(where)

        assert calls(10, tmp_path / "first")["successful"] == 10
        first = int(pidfile.read_text())
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip().isdigit()
                 and int(pidfile.read_text()) != first and front.listed() != [], 30,
                 "supervisord to restart the front and its Kamailio")
        wait_for(lambda: "kamailio exited" in (workdir / "front.log").read_text(), 10,
                 "the front to say Kamailio exited")
        assert calls(10, tmp_path / "second")["successful"] == 10
        wait_for(lambda: tally.confirmed == 20 and tally.up == 0, 10, "the agents to see 20 calls")
    finally:
        if lib is not None:
            lib.destroy()
        code = stop(up, 30)
    assert code == 0
    log = (workdir / "supervisord.log").read_text()
    assert "exited: front (exit status 1; not expected)" in log, log
    assert "stopped: front (exit status 0)" in log, log
