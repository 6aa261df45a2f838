"""The coordinator killed mid-call and started again on the same endpoints.

Chosen behaviour (PROTOCOL.md sections 9 and 13): the new coordinator knows nothing, so it does
not re-adopt what the agents hold. Each agent reconnects, says hello reporting its calls and
accounts, is told to reset (hangs up, deletes its accounts) and is re-admitted clean; clients
reconnect by themselves (same routing id) and start afresh. No orphan call survives in any agent.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from coordinator.fleet import _die_with_parent
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, wait_for


def test_a_restarted_coordinator_resets_and_readmits_the_agents(fleet2: FaultFleet) -> None:
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None and local.coordinator is not None
    watch = Answerer(codes=())
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    out = Recorder()
    alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(watch.recorders)
             and watch.recorders[0].reached("CONFIRMED"), 10, "the call CONFIRMED")

    old = local.coordinator
    old.send_signal(signal.SIGKILL)
    old.wait(10)
    assert old.stdout is not None
    old.stdout.close()
    new = subprocess.Popen(
        [sys.executable, "-m", "coordinator.cli", "coordinator", "--agents-bind", local.agents_url,
         "--clients-bind", local.clients_url, "--events-bind", local.events_url, "--ready"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    local.coordinator = new  # stopped by the fixture like the first one
    assert new.stdout is not None
    line = new.stdout.readline()
    assert line.startswith(b"READY "), line
    assert json.loads(line[6:])["clients"] == local.clients_url

    # the agents come back (reconnect, hello), reset what they held, and are admitted clean; the
    # client's connection reconnects by itself
    wait_for(lambda: len(lib.agents()) == 2 and all(
        a["state"] == "ready" and a["calls"] == 0 and a["accounts"] == 0 for a in lib.agents()),
        15, "both agents re-admitted clean by the new coordinator")
    assert lib.status()["accounts"] == 0 and lib.status()["calls"] == 0
    assert {a["pid"] for a in lib.agents()} == {p.pid for p in local.agents}
    # the old call's legs were hung up by the resets; nobody knew their owner to tell it
    assert out.last() == "CONFIRMED" and watch.recorders[0].last() == "CONFIRMED"

    # the fleet serves as new
    carol = lib.create_account("sip:carol@127.0.0.1", auto_answer=200)
    dave = lib.create_account("sip:dave@127.0.0.1")
    again = Recorder()
    call = dave.make_call(carol.contact, cb=again)
    wait_for(lambda: again.reached("CONFIRMED"), 10, "a call through the new coordinator")
    call.hangup()
    wait_for(lambda: again.last() == "DISCONNECTED", 10, "the call to end")
