"""An agent killed (SIGKILL) mid-call: each call it held ends exactly once with reason
worker_lost, fast; its accounts move to other agents and keep working."""

from __future__ import annotations

import time
from typing import Any

from coordinator.client import Call
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, wait_for

#: the issue's bound: from the kill to every call's terminal event at its owner
LOSS_REPORTED_S = 3.0


def _up(rec: Recorder) -> bool:
    return rec.reached("CONFIRMED")


def test_sigkill_mid_call_ends_its_calls_once_and_moves_its_accounts(fleet3: FaultFleet) -> None:
    lib = fleet3.lib
    tap = fleet3.tap()
    alice_answers = Answerer()
    bob_watch = Answerer(codes=())  # bob's agent answers by itself; this records the legs
    alice = lib.create_account("sip:alice@127.0.0.1", cb=alice_answers)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_watch, auto_answer=200)
    carol = lib.create_account("sip:carol@127.0.0.1", auto_answer=200)
    assert len({alice.agent, bob.agent, carol.agent}) == 3
    victim, old_contact = bob.agent, bob.contact

    # two calls alice -> bob: the callee legs live on bob's agent, the victim
    outs = [Recorder(), Recorder()]
    calls = [alice.make_call(bob.contact, cb=r) for r in outs]
    wait_for(lambda: all(_up(r) for r in outs) and len(bob_watch.recorders) == 2
             and all(_up(r) for r in bob_watch.recorders), 10, "both calls CONFIRMED")
    legs: list[Call] = list(bob_watch.calls)
    assert {c.agent for c in legs} == {victim}

    killed_at = fleet3.kill(victim)
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in bob_watch.recorders),
             LOSS_REPORTED_S + 2, "the lost agent's calls to end at their owner")
    reported_in = time.monotonic() - killed_at
    print(f"worker_lost at the owner {reported_in:.3f}s after SIGKILL")
    assert reported_in < LOSS_REPORTED_S, f"worker_lost reported {reported_in:.2f}s after the kill"
    for leg, rec in zip(legs, bob_watch.recorders, strict=True):
        assert rec.names() == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
        assert leg.info().last_reason == "worker_lost" and not leg.is_valid()

    # bob's account lives on another agent now, and the client was told (acc.moved)
    wait_for(lambda: bob.agent != victim, 5, "bob's account to move")
    assert bob.agent in (alice.agent, carol.agent) and bob.contact != old_contact
    moved = tap.about(bob.id, "acc.moved")
    assert len(moved) == 1 and moved[0]["data"]["from"] == victim
    assert moved[0]["data"]["reason"] == "worker_lost"
    agents = fleet3.agents()
    assert victim not in agents and len(agents) == 2
    assert sum(a["accounts"] for a in agents.values()) == 3

    # alice's legs are on a live agent that SIP never told: she hangs up herself
    for call, rec in zip(calls, outs, strict=True):
        call.hangup()
        wait_for(lambda rec=rec: rec.last() == "DISCONNECTED", 10, "alice's legs to end")  # type: ignore[misc]

    # calls to and from the moved account work
    to_bob, from_bob = Recorder(), Recorder()
    c1 = alice.make_call(bob.contact, cb=to_bob)
    c2 = bob.make_call(alice.contact, cb=from_bob)
    assert c2.agent == bob.agent
    wait_for(lambda: _up(to_bob) and _up(from_bob), 10, "calls to and from the moved account")
    for c, rec in ((c1, to_bob), (c2, from_bob)):
        c.hangup()
        wait_for(lambda rec=rec: rec.last() == "DISCONNECTED", 10, "the new calls to end")  # type: ignore[misc]
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in alice_answers.recorders)
             and len(bob_watch.recorders) == 3
             and bob_watch.recorders[-1].last() == "DISCONNECTED", 10, "the far ends to end")

    # exactly one terminal event per call, in everything the coordinator sent
    every_call = {e["obj"] for e in tap.drain() if e["op"] == "call.state"}
    assert len(every_call) == 2 * 2 + 2 * 2
    for gid in every_call:
        assert len(tap.terminal(gid)) == 1, (gid, tap.about(gid))
    for leg in legs:
        (lost,) = tap.terminal(leg.id)
        assert lost["data"]["reason"] == "worker_lost" and lost["data"]["agent"] == victim


def test_accounts_wait_for_room_and_go_to_the_replacement_agent(fleet2: FaultFleet) -> None:
    """The survivor is full of accounts: the victim's wait, homeless, until a replacement agent
    (same name, as supervisord restarts it) is admitted; then they move there."""
    lib = fleet2.lib
    tap = fleet2.tap()
    accs = [lib.create_account(f"sip:u{i}@127.0.0.1", auto_answer=200) for i in range(16)]
    victim = fleet2.name(1)
    theirs = [a for a in accs if a.agent == victim]
    assert len(theirs) == 8
    fleet2.kill(victim)
    wait_for(lambda: victim not in fleet2.agents(), 5, "the victim to be declared lost")
    assert all(a.agent == victim for a in theirs), "no room anywhere: they stay homeless"
    assert lib.status()["accounts"] == 16

    fleet2.add_agent(victim)  # the replacement, under the same name
    old = {a.id: a.contact for a in theirs}
    wait_for(lambda: all(a.contact != old[a.id] for a in theirs), 10,
             "the homeless accounts to move to the replacement")
    assert len([e for e in tap.drain() if e["op"] == "acc.moved"]) == 8
    agents = fleet2.agents()
    assert agents[victim]["accounts"] == 8 and agents[victim]["state"] == "ready"
    assert agents[victim]["pid"] == fleet2.proc(victim).pid
    assert sum(a["accounts"] for a in agents.values()) == 16
    new_contact = theirs[0].contact
    assert all(a.agent == victim and a.contact.split("@")[1] == new_contact.split("@")[1]
               for a in theirs)
    # a moved account answers calls at its new contact
    out = Recorder()
    caller = next(a for a in accs if a.agent != victim)
    call = caller.make_call(theirs[0].contact, cb=out)
    wait_for(lambda: _up(out), 10, "a call to a moved account")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")


def test_a_self_run_that_loses_an_agent_calls_round_it(fleet3: FaultFleet) -> None:
    """The agent that called the lost one calls the next answerer of the ring from then on:
    only the calls up or ringing at the kill fail or are lost, and every call is counted once."""
    lib = fleet3.lib
    seen: list[dict[str, Any]] = []
    watch = lib.start_load({"rate": 6, "duration": 10, "hold": "0.3", "self": True},
                           on_progress=seen.append)
    wait_for(lambda: len(seen) >= 3 and seen[-1]["started"] >= 12, 15, "calls going")
    victim = fleet3.name(2)
    fleet3.kill(victim)
    assert watch.finished.wait(90), "the run to end (calls to the dead agent time out)"
    r = watch.report
    assert r is not None and r["lost_agents"] == [victim]
    assert r["completed"] + r["failed"] + r["lost"] == r["attempted"]
    # only the calls in flight to the victim at the kill may fail (their INVITEs time out)
    assert r["failed"] <= 4, (r["failed_by_code"], r["failed_by_reason"])
    # its caller kept calling, at its 2 calls/s for the 10 s: had it kept calling the dead
    # agent, its calls would have stayed stuck in its slots and it would have started ~8
    caller = next(p for p in r["by_agent"] if p["agent"] == fleet3.name(1))
    assert caller["started"] >= 16, r["by_agent"]


def test_a_replacement_agent_takes_the_lost_agents_part_again(fleet3: FaultFleet) -> None:
    """Killed, then restarted under the same name (as supervisord does): the new process gets
    what is left of the lost agent's part, answers at its new address, and calls again."""
    lib = fleet3.lib
    seen: list[dict[str, Any]] = []
    watch = lib.start_load({"rate": 6, "duration": 14, "hold": "0.3", "self": True},
                           on_progress=seen.append)
    wait_for(lambda: len(seen) >= 3 and seen[-1]["started"] >= 12, 15, "calls going")
    victim = fleet3.name(1)
    fleet3.kill(victim)
    wait_for(lambda: victim not in fleet3.agents(), 5, "the victim to be declared lost")
    fleet3.add_agent(victim)
    assert watch.finished.wait(90), "the run to end"
    r = watch.report
    assert r is not None and r["replaced_agents"] == [victim] and r["lost_agents"] == []
    assert r["completed"] + r["failed"] + r["lost"] == r["attempted"]
    mine = next(p for p in r["by_agent"] if p["agent"] == victim)
    # 2 calls/s for 14 s: about 6 before the kill, then the replacement's for what was left of
    # the 14 s (without it, the part would have ended at the kill)
    assert mine["started"] >= 16, r["by_agent"]
    assert mine["incoming"] > 0
    assert r["failed"] <= 6, (r["failed_by_code"], r["failed_by_reason"])

