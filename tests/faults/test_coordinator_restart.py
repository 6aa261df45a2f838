"""The coordinator killed mid-call (and mid-run) and started again on the same endpoints.

Chosen behaviour (PROTOCOL.md section 9, Adoption): each agent reconnects and says hello with
what it holds; the new coordinator re-adopts it all during its adoption window (no duplicate,
no orphan), clients reconnect by themselves (same routing id) and their objects work again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq
import zmq.auth

from coordinator.client import Error, Lib
from coordinator.client.fleet import LocalFleet, die_with_parent
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, free_udp_port, start_sipp, stop, wait_for

SCENARIOS = Path(__file__).parent / "scenarios"


def restart_coordinator(local: LocalFleet, *extra: str) -> subprocess.Popen[bytes]:
    """SIGKILL the fleet's coordinator and start a new one on the same endpoints (stopped by
    the fixture like the first one)."""
    old = local.coordinator
    assert old is not None
    old.send_signal(signal.SIGKILL)
    old.wait(10)
    assert old.stdout is not None
    old.stdout.close()
    new = subprocess.Popen(
        [sys.executable, "-m", "coordinator.cli", "coordinator", "--agents-bind", local.agents_url,
         "--clients-bind", local.clients_url, "--events-bind", local.events_url, "--ready",
         *extra],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    local.coordinator = new
    assert new.stdout is not None
    line = new.stdout.readline()
    assert line.startswith(b"READY "), line
    assert json.loads(line[6:])["clients"] == local.clients_url
    return new


class Firehose:
    """A SUB connection to the PUB firehose: it reconnects by itself to a new coordinator."""

    def __init__(self, url: str, topic: bytes) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        for option, value in ((zmq.LINGER, 0), (zmq.RECONNECT_IVL, 50), (zmq.SUBSCRIBE, topic)):
            self.sock.setsockopt(option, value)
        self.sock.connect(url)
        self.events: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while self.sock.poll(0):
            _, frame = self.sock.recv_multipart()
            self.events.append(msgpack.unpackb(frame, raw=False))
        return self.events

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@contextmanager
def firehose(url: str, topic: bytes) -> Iterator[Firehose]:
    tap = Firehose(url, topic)
    try:
        yield tap
    finally:
        tap.close()


def adopted(lib: Lib, accounts: int, calls: int) -> bool:
    """The adoption window is over and the coordinator holds what the agents reported."""
    status: dict[str, Any] = lib.status()
    return (status["adopting"] == 0 and status["accounts"] == accounts
            and status["calls"] == calls and len(status["agents"]) == 2
            and all(a["state"] == "ready" for a in status["agents"]))


def test_a_restarted_coordinator_readopts_calls_and_accounts(fleet2: FaultFleet) -> None:
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None and local.coordinator is not None
    watch = Answerer(codes=())
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    # ids the coordinator issues itself (a raw client's): one still held, one already deleted
    kept = lib.request("acc.create", {"uri": "sip:kept@127.0.0.1"})["acc"]
    gone = lib.request("acc.create", {"uri": "sip:gone@127.0.0.1"})["acc"]
    lib.request("acc.delete", {"acc": gone})
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(watch.recorders)
             and watch.recorders[0].reached("CONFIRMED"), 10, "the call CONFIRMED")
    callee = watch.recorders[0].call
    assert callee is not None
    before = {a["name"]: a for a in lib.agents()}
    # (the firehose must be read while waiting: a SUB socket takes its new connection, and
    # sends its subscription there, only when its own thread uses it)
    with firehose(local.events_url, b"evt.call.state") as pub, ThreadPoolExecutor(1) as pool:
        restart_coordinator(local)
        # a request sent during the adoption window is held, then served: the call is known
        info = pool.submit(lambda: call.info(refresh=True).state)
        # each leg's current state goes out once, numbered as its agent's last event
        wait_for(lambda: len([e for e in pub.drain() if e["data"].get("adopted")]) == 2, 15,
                 "the adopted calls' states on the firehose")
        assert info.result(15) == "CONFIRMED"
        told = {e["obj"]: e for e in pub.drain() if e["data"].get("adopted")}
        assert set(told) == {call.id, callee.id}
        assert all(e["data"]["state"] == "CONFIRMED" and e["seq"] >= 3 for e in told.values())
    # the agents came back with what they hold; the new coordinator adopted it all
    wait_for(lambda: adopted(lib, accounts=3, calls=2), 15,
             "both agents re-adopted with their accounts and the call's two legs")
    after = {a["name"]: a for a in lib.agents()}
    assert {n: a["pid"] for n, a in after.items()} == {n: a["pid"] for n, a in before.items()}
    # no orphan: each agent's calls and accounts are the coordinator's
    assert {n: (a["calls"], a["accounts"]) for n, a in after.items()} == \
        {n: (a["calls"], a["accounts"]) for n, a in before.items()}
    assert sum(a["calls"] for a in after.values()) == 2
    # the state sent to the owner on adoption repeats no callback (CONFIRMED was seen already)
    assert out.names().count("CONFIRMED") == 1 and out.last() == "CONFIRMED"
    assert watch.recorders[0].names().count("CONFIRMED") == 1
    assert lib.missed_events == 0 and lib.callback_errors == []
    snapshot = lib.request("events.subscribe", {"include": {"calls": [call.id]}})
    assert [(c["call"], c["state"]) for c in snapshot["calls"]] == [(call.id, "CONFIRMED")]
    lib.request("events.unsubscribe", {})

    # no duplicate: an id the new coordinator issues was never issued before the restart
    fresh = lib.request("acc.create", {"uri": "sip:fresh@127.0.0.1"})["acc"]
    assert fresh not in (kept, gone, alice.id, bob.id)
    assert int(fresh[1:]) > max(int(kept[1:]), int(gone[1:]))

    # the same Call object works again: hung up through the new coordinator, both owners hear it
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED" and watch.recorders[0].last() == "DISCONNECTED",
             10, "both legs DISCONNECTED through the new coordinator")
    assert not callee.is_valid() and not call.is_valid()

    # the adopted accounts serve as before: bob answers a new call from alice
    again = Recorder()
    second = alice.make_call(bob.contact, cb=again)
    wait_for(lambda: again.reached("CONFIRMED"), 10, "a new call between adopted accounts")
    assert second.id != call.id
    second.hangup()
    wait_for(lambda: again.last() == "DISCONNECTED" and len(watch.recorders) == 2
             and watch.recorders[1].last() == "DISCONNECTED", 10, "the new call to end")
    for acc in (kept, fresh):
        lib.request("acc.delete", {"acc": acc})


def test_a_load_run_survives_a_coordinator_restart(fleet2: FaultFleet) -> None:
    """40 self-answered calls at 4/s, held 1 s, on 2 agents; the coordinator is killed after
    the first calls and started again: the agents' load generators keep going, the new
    coordinator rebuilds the run from their totals and its report counts every call."""
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None
    watch = lib.start_load({"rate": 4, "calls": 40, "hold": "1", "self": True})
    wait_for(lambda: watch.progress.get("answered", 0) >= 8, 15, "the run under way")
    started_before = watch.progress["started"]
    assert started_before < 40

    restart_coordinator(local)

    wait_for(lambda: lib.status()["adopting"] == 0, 15, "the adoption window to close")
    (run,) = lib.status()["loads"]
    assert run["run"] == watch.run and run["started"] >= started_before
    assert watch.finished.wait(30), "no load.done through the new coordinator"
    report = watch.report
    assert report is not None
    assert report["attempted"] == 40 and report["answered"] == 40 and report["failed"] == 0, report
    assert report["incoming"] == 40 and report["unplaced"] == 0
    assert sorted(a["agent"] for a in report["by_agent"]) == sorted(fleet2.names)
    assert sum(a["started"] for a in report["by_agent"]) == 40
    assert report["success"] and not report["lost_agents"], report
    assert report["elapsed_s"] >= 10  # the run's whole time, from before the restart
    assert lib.status()["loads"] == []


def test_under_curve_adopted_objects_stay_with_their_owners_key(fleet2_curve: FaultFleet) -> None:
    """The agents kept the owner's key: after the restart the owner (same key, same routing id)
    hangs its call up; another allowed key may not touch it."""
    lib, local = fleet2_curve.lib, fleet2_curve.lib.fleet
    assert local is not None and local._keydir is not None
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "the call CONFIRMED")
    keys = Path(local._keydir.name)
    _, other_secret = zmq.auth.create_certificates(keys / "clients", "other")  # read at start

    restart_coordinator(local, *local.coordinator_args)

    wait_for(lambda: adopted(lib, accounts=2, calls=2), 15, "the call adopted under CURVE")
    other = Lib.connect(local.clients_url, server_key=str(keys / "coordinator" /
                                                            "coordinator.key"),
                        key=str(other_secret))
    try:
        with pytest.raises(Error) as refused:
            other.request("call.hangup", {"call": call.id})
        assert refused.value.err_code == "E_FORBIDDEN"
    finally:
        other.destroy()
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the owner's hangup")


def test_an_agent_back_after_the_window_is_adopted_late(fleet2: FaultFleet) -> None:
    """bob's agent is stopped across the restart: the window closes without it (alice and her
    leg adopted); once resumed it reports bob and his leg, nothing conflicts: adopted late."""
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None
    watch = Answerer(codes=())
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    assert alice.agent != bob.agent
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(watch.recorders)
             and watch.recorders[0].reached("CONFIRMED"), 10, "the call CONFIRMED")
    fleet2.signal(bob.agent, signal.SIGSTOP)
    try:
        restart_coordinator(local, "--adopt-window", "2")
        wait_for(lambda: (lambda s: s["adopting"] == 0 and s["accounts"] == 1
                          and s["calls"] == 1)(lib.status()), 15,
                 "the window closed with alice and her leg only")
    finally:
        fleet2.signal(bob.agent, signal.SIGCONT)
    wait_for(lambda: adopted(lib, accounts=2, calls=2), 15, "bob's agent adopted late")
    assert lib.agents()[0]["state"] == "ready"
    assert watch.recorders[0].names().count("CONFIRMED") == 1
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED" and watch.recorders[0].last() == "DISCONNECTED",
             10, "both legs DISCONNECTED")


def test_a_call_that_ended_while_the_coordinator_was_down_ends_at_its_owner(
        fleet2: FaultFleet, tmp_path: Path) -> None:
    """The far end hangs up while no coordinator runs: the agent remembers the call's end, and
    the new coordinator tells its owner (the Call does not stay CONFIRMED for ever)."""
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None and local.coordinator is not None
    port = free_udp_port()
    peer = start_sipp(["-sf", str(SCENARIOS / "uas_bye_after_3s.xml"), "-p", str(port),
                       "-m", "1"], tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        out = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=out)
        wait_for(lambda: out.reached("CONFIRMED"), 10, "the call answered")
        old = local.coordinator
        old.send_signal(signal.SIGKILL)
        old.wait(10)
        assert peer.wait(15) == 0, "the peer hung up (its BYE answered by the agent)"
        restart_coordinator(local)
        wait_for(lambda: out.last() == "DISCONNECTED", 15, "the call's end at its owner")
        assert not call.is_valid() and out.names().count("DISCONNECTED") == 1
        assert lib.status()["calls"] == 0
    finally:
        stop(peer)


def test_callfleet_events_subscribes_again_after_a_coordinator_restart(
        fleet2: FaultFleet) -> None:
    lib, local = fleet2.lib, fleet2.lib.fleet
    assert local is not None
    first = lib.status()["coordinator"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "coordinator.cli", "events", "--coordinator", local.clients_url,
         "--filter", "call.state", "--no-snapshot"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stderr is not None and proc.stdout is not None
        assert "subscribed" in proc.stderr.readline()
        restart_coordinator(local)
        wait_for(lambda: lib.status()["coordinator"] != first, 15, "the new coordinator")
        line = proc.stderr.readline()  # within one lease renewal (2 s)
        assert "the coordinator restarted; subscribed again" in line, line
        resubscribed = json.loads(proc.stdout.readline())
        assert resubscribed["kind"] == "resubscribed"
        assert resubscribed["coordinator"] == lib.status()["coordinator"]
        alice = lib.create_account("sip:alice@127.0.0.1")
        bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
        out = Recorder()
        call = alice.make_call(bob.contact, cb=out)
        wait_for(lambda: out.reached("CONFIRMED"), 10, "a call after the restart")
        event = json.loads(proc.stdout.readline())  # the new subscription delivers its events
        assert event["op"] == "call.state" and event["data"]["state"] in (
            "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED")
        call.hangup()
        wait_for(lambda: out.last() == "DISCONNECTED", 10, "its end")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
