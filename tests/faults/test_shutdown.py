"""SIGTERM to an agent: it hangs up its calls (reason ``shutdown`` at their owners), says
goodbye so that the coordinator forgets it at once and moves its accounts, and exits 0."""

from __future__ import annotations

import signal
import time

from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, wait_for

#: the issue's bound for a graceful stop
EXIT_WITHIN_S = 10.0


def test_sigterm_hangs_up_with_reason_shutdown_and_exits_0(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    tap = fleet2.tap()
    watch = Answerer(codes=())
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    victim = bob.agent
    outs = [Recorder(), Recorder()]
    calls = [alice.make_call(bob.contact, cb=r) for r in outs]
    wait_for(lambda: all(r.reached("CONFIRMED") for r in outs) and len(watch.recorders) == 2
             and all(r.reached("CONFIRMED") for r in watch.recorders), 10, "both calls CONFIRMED")

    t0 = fleet2.signal(victim, signal.SIGTERM)
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in watch.recorders + outs), 5,
             "every leg to end")
    for leg in watch.calls:
        assert leg.info().last_reason == "shutdown"
    for call in calls:  # the far ends got a BYE
        assert call.info().last_reason != "worker_lost" and call.info().last_code == 200
    wait_for(lambda: victim not in fleet2.agents(), 5, "the coordinator to forget the agent")
    forgotten_in = time.monotonic() - t0
    code = fleet2.proc(victim).wait(EXIT_WITHIN_S)
    exited_in = time.monotonic() - t0
    print(f"SIGTERM: forgotten after {forgotten_in:.3f}s, exit {code} after {exited_in:.3f}s")
    assert code == 0 and exited_in < EXIT_WITHIN_S
    assert forgotten_in < 2.0, "the goodbye spared the heartbeat timeout (3 s)"
    for leg in watch.calls:
        (end,) = tap.terminal(leg.id)
        assert end["data"]["reason"] == "shutdown" and end["data"]["agent"] == victim

    # bob moved to the survivor and takes calls there
    wait_for(lambda: bob.agent == alice.agent, 5, "bob's account to move")
    (moved,) = tap.about(bob.id, "acc.moved")
    assert moved["data"]["reason"] == "shutdown" and moved["data"]["from"] == victim
    again = Recorder()
    call = alice.make_call(bob.contact, cb=again)
    wait_for(lambda: again.reached("CONFIRMED"), 10, "a call to the moved account")
    call.hangup()
    wait_for(lambda: again.last() == "DISCONNECTED", 10, "the call to end")
    assert fleet2.agents()[alice.agent]["accounts"] == 2
