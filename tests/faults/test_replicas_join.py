"""An account on every agent (replicas="all") reaches an agent admitted after it was created,
and its calls then go round robin over that agent too."""

from __future__ import annotations

from tests.faults.conftest import FaultFleet
from tests.helpers import Recorder, wait_for


def test_a_new_agent_gets_the_accounts_that_live_everywhere(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    bob = lib.create_account("sip:bob@127.0.0.1", replicas="all")
    carol = lib.create_account("sip:carol@127.0.0.1", auto_answer=200)
    assert len(bob.replicas) == 2
    assert lib.fleet is not None
    newcomer = f"{lib.fleet.tag}-3"
    fleet2.add_agent(newcomer)
    wait_for(lambda: fleet2.agents().get(newcomer, {}).get("accounts") == 1, 15,
             "bob's replica on the new agent")
    placed = []
    for _ in range(3):
        rec = Recorder()
        call = bob.make_call(carol.contact, cb=rec)
        placed.append(call.agent)
        wait_for(lambda rec=rec: rec.reached("CONFIRMED"), 10, "the call CONFIRMED")  # type: ignore[misc]
        call.hangup()
        wait_for(lambda rec=rec: rec.last() == "DISCONNECTED", 10, "the call to end")  # type: ignore[misc]
    assert sorted(placed) == sorted(fleet2.agents())  # one call on each agent, the new one too
    bob.delete()
    wait_for(lambda: all(a["accounts"] == (1 if name == carol.agent else 0)
                         for name, a in fleet2.agents().items()), 10, "every replica deleted")
