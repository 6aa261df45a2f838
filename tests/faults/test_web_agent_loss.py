"""The dashboard while an agent of a running load run is SIGKILLed and replaced under its name:
the fleet view shows it lost, then replaced (with its old and new pid); the run's page counts
the calls it had up as lost, as the run's report does."""

from __future__ import annotations

from typing import Any

from tests.browser import attr, chromium, console_errors, counter, needs_chromium, text, web_process
from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for

pytestmark = needs_chromium


def _lifecycle(driver: Any, name: str) -> str:
    return attr(driver, f'#agents tr[data-agent="{name}"] [data-lifecycle]', "data-lifecycle")


def test_a_killed_agent_shows_lost_then_replaced(fleet3: FaultFleet) -> None:
    lib = fleet3.lib
    seen: list[dict[str, Any]] = []
    watch = lib.start_load({"rate": 9, "duration": 600, "hold": "2", "self": True},
                           on_progress=seen.append)
    victim = fleet3.name(1)
    old_pid = fleet3.proc(victim).pid
    try:
        with web_process(lib.url) as web, chromium() as driver:
            driver.get(web.address)
            wait_for(lambda: _lifecycle(driver, victim) == "joined", 15, "the victim joined")
            wait_for(lambda: len(seen) >= 3 and seen[-1]["active"] >= 6, 20, "calls up")
            fleet3.kill(victim)
            wait_for(lambda: _lifecycle(driver, victim) == "lost", 15, "the page to show it lost")
            assert counter(driver, "lost_agents") == 1 and counter(driver, "agents") == 2
            fleet3.add_agent(victim)
            wait_for(lambda: _lifecycle(driver, victim) == "replaced", 20,
                     "the page to show it replaced")
            new_pid = fleet3.proc(victim).pid
            row = f'#agents tr[data-agent="{victim}"]'
            assert text(driver, row + " td:nth-child(3)") == str(new_pid)
            assert f"(pid {old_pid})" in text(driver, row + " [data-lifecycle]")
            assert counter(driver, "lost_agents") == 0 and counter(driver, "agents") == 3
            driver.get(f"{web.address}#/run/{watch.run}")
            wait_for(lambda: (counter(driver, "lost") or 0) > 0, 15, "the run's lost calls")
            lib.stop_load(watch.run)
            assert watch.finished.wait(30) and watch.report is not None
            wait_for(lambda: text(driver, "#run-state").startswith("finished"), 15, "the report")
            report = watch.report
            # the replacement took the rest of the victim's part: replaced, no longer lost
            assert report["lost_agents"] == [] and report["replaced_agents"] == [victim]
            assert report["lost"] > 0
            assert counter(driver, "lost") == report["lost"]
            assert counter(driver, "attempted") == report["attempted"]
            assert f"{victim} (replaced)" in text(driver, "#by-agent")
            assert console_errors(driver) == []
    finally:
        if not watch.finished.is_set():
            lib.stop_load(watch.run)
            watch.finished.wait(30)
