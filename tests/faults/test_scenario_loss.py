"""An agent killed (SIGKILL) in the middle of a scenario run: the calls it had placed are
counted lost at the step each was in (its last report said where), every call once."""

from __future__ import annotations

from typing import Any

from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for


def test_calls_of_a_killed_agent_are_lost_at_their_step(fleet3: FaultFleet) -> None:
    lib = fleet3.lib
    seen: list[dict[str, Any]] = []
    flow = {"name": "long hold",
            "caller": [{"op": "call"}, {"op": "wait", "state": "confirmed"},
                       {"op": "pause", "s": "2"}, {"op": "hangup"}],
            "callee": [{"op": "answer"}]}
    watch = lib.start_load({"rate": 3, "duration": 8, "self": True, "scenario": flow},
                           on_progress=seen.append)
    # every agent's calls are up in their 2 s pause (and reported so) before the kill
    wait_for(lambda: len(seen) >= 4 and seen[-1]["answered"] >= 6, 15, "calls in their pause")
    victim = fleet3.name(2)
    fleet3.kill(victim)
    assert watch.finished.wait(90), "the run to end"
    r = watch.report
    assert r is not None and r["lost_agents"] == [victim]
    assert r["completed"] + r["failed"] + r["lost"] == r["attempted"]
    steps = {(s["leg"], s["step"]): s for s in r["steps"]}
    lost = {key: s["lost"] for key, s in steps.items() if s["lost"]}
    # the lost calls are exactly those the victim had placed and that were up: each at its step
    assert sum(lost.values()) == r["lost"] > 0, (lost, r["lost"])
    assert set(lost) <= {("caller", 1), ("caller", 2), ("caller", 3), ("caller", 4)}
    assert lost.get(("caller", 3), 0) >= 1, lost  # most of a call's life is its pause
    assert r["success"] is False
