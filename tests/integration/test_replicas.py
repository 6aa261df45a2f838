"""An account on every agent (replicas="all") with Kamailio as registrar and proxy: each agent
registers its own contact for the one AOR (a call to the AOR forks to both agents), the
account's outgoing calls go round robin over the agents, and deleting it unregisters every
contact."""

from __future__ import annotations

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.kamailio import Kamailio
from tests.ua_helpers import RegAnswerer, RegRecorder


def test_account_on_every_agent_registers_each_and_spreads_calls(kam: Kamailio,
                                                                 lib: Lib) -> None:
    agents = sorted(a["name"] for a in lib.agents())
    bobs = RegAnswerer(codes=(180,))  # rings: the call stays forked until the test answers
    bob = lib.create_account(kam.account("bob"), cb=bobs, replicas="all")
    assert sorted(bob.replicas) == agents and bob.agent in agents
    wait_for(lambda: bobs.regs == [(200, True), (200, True)], 10, "a registration per agent")
    assert kam.requests("REGISTER", "bob") == 4  # each agent: challenged, then accepted
    alices = RegAnswerer(codes=(200,))
    alice = lib.create_account(kam.account("alice"), cb=alices)
    wait_for(lambda: alices.regs == [(200, True)], 10, "alice registered")

    # the AOR has two contacts: Kamailio forks alice's call to both agents
    out = Recorder()
    call = alice.make_call("sip:bob@127.0.0.1", cb=out)
    wait_for(lambda: len(bobs.calls) == 2 and all(r.reached("EARLY") for r in bobs.recorders),
             10, "the call ringing on both agents")
    assert sorted(c.agent for c in bobs.calls) == agents
    bobs.calls[1].answer(200)
    wait_for(lambda: out.reached("CONFIRMED") and bobs.recorders[1].reached("CONFIRMED")
             and bobs.recorders[0].last() == "DISCONNECTED", 10,
             "one fork answered, the other cancelled")
    assert bobs.recorders[0].names() == ["INCOMING", "EARLY", "DISCONNECTED"]
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED" and bobs.recorders[1].last() == "DISCONNECTED",
             10, "the call to end")

    # bob's own calls go round robin over the agents (that have a free slot), via the proxy
    recs = [Recorder(), Recorder()]
    calls = [bob.make_call("sip:alice@127.0.0.1", cb=r) for r in recs]
    assert sorted(c.agent for c in calls) == agents
    wait_for(lambda: all(r.reached("CONFIRMED") for r in recs), 15, "both calls CONFIRMED")
    assert kam.requests("INVITE", "bob") == 2
    for c in calls:
        c.hangup()
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in recs), 10, "the calls to end")

    # deleted: both contacts unregister, and the AOR is gone
    before = kam.requests("REGISTER", "bob")
    bob.delete()
    wait_for(lambda: kam.requests("REGISTER", "bob") >= before + 2, 10, "two unregistrations")
    lost = Recorder()
    alice.make_call("sip:bob@127.0.0.1", cb=lost)
    wait_for(lambda: lost.last() == "DISCONNECTED", 10, "the call to a gone AOR to fail")
    assert lost.states[-1] == ("DISCONNECTED", 404)


def test_replicas_all_without_registrar_and_bad_values(lib: Lib) -> None:
    answerer = Answerer(codes=(200,))
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer, replicas="all")
    assert len(bob.replicas) == 2
    assert {a["name"]: a["accounts"] for a in lib.agents()} == {n: 1 for n in bob.replicas}
    with pytest.raises(Error) as exc:
        lib.request("acc.create", {"uri": "sip:x@127.0.0.1", "replicas": "some"})
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:
        lib.create_account("sip:x@127.0.0.1", replicas="most")
    assert exc.value.err_code == "E_BAD_ARGS"
    regs = RegRecorder()
    bob.set_callback(regs)
    with pytest.raises(Error) as exc:  # no registrar: nothing to register anywhere
        bob.set_registration(True)
    assert exc.value.err_code == "E_WRONG_STATE"
    bob.delete()
    wait_for(lambda: all(a["accounts"] == 0 for a in lib.agents()), 10, "every replica deleted")
