"""The SIP front follows the fleet: an agent killed while the front sends it calls (the calls
it had up, and only those, fail at SIPp and are reported lost to the account's owner; the
other agents take every later call), and an agent that joins (listed, given the account, and
sent calls, without a failure)."""

from __future__ import annotations

from pathlib import Path

from tests.faults.conftest import FaultFleet
from tests.front import answering_front, sipp_stats, sipp_uac
from tests.helpers import start_sipp, wait_for


def test_an_agent_killed_mid_run_loses_only_its_calls(fleet4: FaultFleet, tmp_path: Path) -> None:
    lib4 = fleet4.lib
    tally, front = answering_front(lib4, tmp_path, 4)
    try:
        uac = start_sipp(sipp_uac(front, "-r", "8", "-l", "12", "-m", "160",
                                   "-d", "1000"), tmp_path)
        wait_for(lambda: tally.confirmed >= 40, 30, "40 calls answered")
        victim = next(a for a in lib4.agents() if tally.up_on[a["name"]] > 0)
        fleet4.kill(victim["name"])
        front.wait_listed(3, 20)
        rc = uac.wait(150)
        stats = sipp_stats(tmp_path)
        wait_for(lambda: tally.up == 0, 15, "every call to end")
        lost = tally.ended["worker_lost"]
        assert lost >= 1, tally.ended
        # the calls the killed agent had up, and only those, failed at SIPp
        assert stats["failed"] == lost and stats["successful"] == 160 - lost, (stats, tally.ended)
        assert rc != 0
        assert "-" + victim["name"] in front.output()
    finally:
        front.stop()


def test_an_agent_that_joins_gets_the_account_and_calls(fleet2: FaultFleet, tmp_path: Path) -> None:
    lib = fleet2.lib
    tally, front = answering_front(lib, tmp_path, 2)
    try:
        name = f"{fleet2.names[0].rsplit('-', 1)[0]}-late"
        fleet2.add_agent(name)
        front.wait_listed(3, 20)
        # the list is written, then Kamailio reloads it, then the front says so
        wait_for(lambda: f"+{name}" in front.output(), 10, "the front to say the newcomer joined")
        uac = start_sipp(sipp_uac(front, "-r", "10", "-m", "30", "-d", "200"), tmp_path)
        assert uac.wait(60) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-1500:]
        stats = sipp_stats(tmp_path)
        assert (stats["successful"], stats["failed"]) == (30, 0), stats
        wait_for(lambda: tally.confirmed == 30 and tally.up == 0, 10, "30 calls at the agents")
        assert tally.agents[name] > 0, tally.agents  # the newcomer took its share
    finally:
        front.stop()
