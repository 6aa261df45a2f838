"""Stale commands: a request carries a deadline (``expires``); past it, the coordinator or the
agent refuses it with E_EXPIRED instead of executing it, e.g. a request that sat queued for an
agent that was stopped for a moment."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from coordinator.client import Error
from proto import limits
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, wait_for

#: how long the agent is stopped: well inside the liveness limit (it must not be declared lost)
STOPPED_S = 1.5
assert STOPPED_S < limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES


def test_an_expired_request_is_refused_by_the_coordinator(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    alice = lib.create_account("sip:alice@127.0.0.1")
    watch = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    with pytest.raises(Error) as err:
        lib.request("call.make", {"acc": alice.id, "uri": bob.contact, "call": "late"},
                    expires_in=-1.0)
    assert err.value.err_code == "E_EXPIRED", err.value
    assert lib.status()["calls"] == 0 and not watch.calls
    # the id was not taken, and the same request with a deadline ahead is executed
    out = lib.request("call.make", {"acc": alice.id, "uri": bob.contact, "call": "late"},
                      expires_in=30.0)
    assert out["call"] == "late"
    wait_for(lambda: bool(watch.recorders) and watch.recorders[0].reached("CONFIRMED"), 15,
             "the call with a deadline ahead CONFIRMED")
    lib.request("call.hangup", {"call": "late"})
    wait_for(lambda: watch.recorders[0].last() == "DISCONNECTED", 15, "the call to end")


def test_a_request_queued_for_a_stopped_agent_expires_there(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    alice = lib.create_account("sip:alice@127.0.0.1")
    watch = Answerer(codes=())
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    victim = alice.agent  # call.make is placed on alice's home agent
    assert victim != bob.agent

    def make(call: str, expires_in: float) -> dict[str, object] | Error:
        try:
            return lib.request("call.make", {"acc": alice.id, "uri": bob.contact, "call": call},
                               expires_in=expires_in)
        except Error as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        fleet2.signal(victim, signal.SIGSTOP)
        try:
            # both wait in the stopped agent's socket; one may wait 0.5 s, the other 30 s
            stale = pool.submit(make, "stale", 0.5)
            fresh = pool.submit(make, "fresh", 30.0)
            time.sleep(STOPPED_S)  # the fault itself: the agent stays stopped this long
            assert not stale.done() and not fresh.done(), "answered while the agent was stopped"
        finally:
            fleet2.signal(victim, signal.SIGCONT)
        refused, made = stale.result(15), fresh.result(15)

    assert isinstance(refused, Error) and refused.err_code == "E_EXPIRED", refused
    assert "not executed" in refused.err_msg
    assert made == {"call": "fresh", "agent": victim}, made
    # only the fresh call reached bob; the stale one was never placed
    wait_for(lambda: len(watch.recorders) == 1 and watch.recorders[0].reached("CONFIRMED"), 15,
             "the fresh call CONFIRMED at bob")
    time.sleep(0.5)  # room for a second INVITE, had the stale call been made
    assert len(watch.calls) == 1
    agents = fleet2.agents()
    assert agents[victim]["state"] == "ready", "the stopped agent was declared lost"
    assert lib.status()["calls"] == 2  # the fresh call's two legs
    lib.request("call.hangup", {"call": "fresh"})
    wait_for(lambda: watch.recorders[0].last() == "DISCONNECTED", 15, "the fresh call to end")

    # the agent keeps serving: an ordinary call works
    rec = Recorder()
    call = alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.reached("CONFIRMED"), 15, "a call after the stale request")
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the call to end")
