"""Media objects of an agent that was lost: the coordinator forgets them at once, and the agent,
when it resumes holding only media objects, is told to reset and destroys them (its budget of
bridge ports is whole again); it exits cleanly at the end."""

from __future__ import annotations

import signal

from coordinator.client import Error
from proto import limits
from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for

LOST_AFTER = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES
#: agent.media_objects.MAX_MEDIA_OBJECTS
BUDGET = 16


def test_a_lost_agent_resets_its_media_objects(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    victim = fleet2.name(0)
    tones = [lib.create_tone(440 + 10 * i, agent=victim) for i in range(3)]
    stopped = fleet2.signal(victim, signal.SIGSTOP)
    assert stopped
    try:
        wait_for(lambda: victim not in fleet2.agents(), LOST_AFTER + 3, "the agent to be lost")
        # forgotten by the coordinator with its agent
        try:
            lib.tone_destroy(tones[0])
            raise AssertionError("a media object of a lost agent was still known")
        except Error as exc:
            assert exc.err_code == "E_NOT_FOUND"
    finally:
        fleet2.signal(victim, signal.SIGCONT)
    # it holds media objects only: told to reset, it destroys them, then it is ready again
    wait_for(lambda: fleet2.agents().get(victim, {}).get("state") == "ready", 15,
             "the resumed agent to be re-admitted")
    assert fleet2.agents()[victim]["pid"] == fleet2.proc(victim).pid
    made = [lib.create_tone(1000, agent=victim) for _ in range(BUDGET)]  # the whole budget
    try:
        lib.create_tone(1000, agent=victim)
        raise AssertionError("more media objects than the budget")
    except Error as exc:
        assert exc.err_code == "E_NO_CAPACITY"
    for gid in made:
        lib.tone_destroy(gid)
