"""Capacity that tells the truth: a call is refused for capacity only when the fleet has none.
A call that just ended keeps its agent's slot busy a moment; back-to-back calls wait for it
instead of being refused."""

from __future__ import annotations

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Recorder, wait_for


def test_twenty_back_to_back_calls_on_an_idle_fleet_are_all_placed(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    for n in range(20):
        out = Recorder()
        call = alice.make_call(bob.contact, cb=out)  # E_NO_CAPACITY here fails the test
        wait_for(lambda out=out: out.reached("CONFIRMED"), 10, f"call {n} answered")  # type: ignore[misc]
        call.hangup()
        wait_for(lambda out=out: out.last() == "DISCONNECTED", 10, f"call {n} ended")  # type: ignore[misc]
    assert lib.status()["calls"] <= 2  # at most the last call's legs, ending


def test_a_full_fleet_still_refuses_at_once_after_the_short_wait(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    outs = [Recorder() for _ in range(4)]
    calls = [alice.make_call(bob.contact, cb=o) for o in outs]  # 4 calls, 8 legs: every slot
    wait_for(lambda: all(o.reached("CONFIRMED") for o in outs), 10, "4 calls up")
    with pytest.raises(Error) as refused:
        alice.make_call(bob.contact, cb=Recorder())
    assert refused.value.err_code == "E_NO_CAPACITY"
    for c in calls:
        c.hangup()
    wait_for(lambda: all(o.last() == "DISCONNECTED" for o in outs), 10, "the calls to end")


def test_a_load_run_beside_an_api_call_plans_around_it(lib: Lib) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "the API call up")
    report = lib.run_load({"rate": 4, "calls": 12, "hold": "0.3", "self": True}, timeout=60)
    assert (report["attempted"], report["failed"], report["failed_by_code"]) == (12, 0, {})
    assert out.last() == "CONFIRMED"  # the API call was not disturbed
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the API call to end")
