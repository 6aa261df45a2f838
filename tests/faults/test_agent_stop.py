"""An agent stopped (SIGSTOP) past the liveness limit is lost like a killed one; when it resumes
(SIGCONT) it is told to reset, its late events are dropped, and it is admitted again clean."""

from __future__ import annotations

import signal
import time

from proto import limits
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, wait_for

LOST_AFTER = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES


def test_sigstop_then_sigcont_is_a_loss_then_a_clean_readmission(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    tap = fleet2.tap()
    watch = Answerer(codes=())
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    victim = bob.agent
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(watch.recorders)
             and watch.recorders[0].reached("CONFIRMED"), 10, "the call CONFIRMED")
    leg, leg_rec = watch.calls[0], watch.recorders[0]

    stopped_at = fleet2.signal(victim, signal.SIGSTOP)
    try:
        wait_for(lambda: leg_rec.last() == "DISCONNECTED", LOST_AFTER + 2,
                 "the stopped agent's call to end at its owner")
        lost_in = time.monotonic() - stopped_at
        assert LOST_AFTER - limits.HEARTBEAT_S <= lost_in <= LOST_AFTER + 1, lost_in
        assert leg.info().last_reason == "worker_lost"
        wait_for(lambda: bob.agent == alice.agent, 5, "bob's account to move to the survivor")
        assert list(fleet2.agents()) == [alice.agent]
        # alice hangs up while the victim sleeps: it will see the BYE, and report it, late
        call.hangup()
        wait_for(lambda: out.last() == "DISCONNECTED", 10, "alice's leg to end")
    finally:
        fleet2.signal(victim, signal.SIGCONT)

    # it comes back, resets (it still held bob's replica), and is admitted holding nothing
    wait_for(lambda: fleet2.agents().get(victim, {}).get("state") == "ready", 10,
             "the resumed agent to be re-admitted")
    agents = fleet2.agents()
    assert agents[victim]["calls"] == 0 and agents[victim]["accounts"] == 0
    assert agents[victim]["pid"] == fleet2.proc(victim).pid, "the same process came back"
    assert agents[alice.agent]["accounts"] == 2 and agents[alice.agent]["calls"] == 0
    assert lib.status()["calls"] == 0

    # its late events were dropped: the callee leg ended once, with worker_lost
    (lost,) = tap.terminal(leg.id)
    assert lost["data"]["reason"] == "worker_lost"
    assert tap.about(leg.id, "call.state")[-1] is lost
    assert leg_rec.names() == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert len(tap.terminal(call.id)) == 1

    # and it serves again: a new account goes there (it holds the fewest), calls work
    carol = lib.create_account("sip:carol@127.0.0.1", auto_answer=200)
    assert carol.agent == victim
    again = Recorder()
    c2 = alice.make_call(carol.contact, cb=again)
    wait_for(lambda: again.reached("CONFIRMED"), 10, "a call to the re-admitted agent")
    c2.hangup()
    wait_for(lambda: again.last() == "DISCONNECTED", 10, "the call to end")
