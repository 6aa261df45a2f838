"""One SIP address for the fleet: `callfleet front` (Kamailio's dispatcher, generated config)
in front of real agents, an account on every agent (replicas="all"), and SIPp calling the
front. Every figure is checked against SIPp's own counts and Kamailio's log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.client import Lib
from tests.front import answering_front, sipp_stats, sipp_uac
from tests.helpers import start_sipp, wait_for
from tests.integration.conftest import start_fleet


@pytest.fixture
def lib12() -> Iterator[Lib]:
    yield from start_fleet(12)


@pytest.fixture
def lib8() -> Iterator[Lib]:
    yield from start_fleet(8)


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
