"""An agent killed while the SIP front sends it calls: the calls it had up, and only those,
fail (SIPp's count) and are reported lost (the account owner's events); the front drops it
and the other agents take every later call."""

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
