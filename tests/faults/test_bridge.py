"""PJSIP 2.15.1's conference bridge frees a port only on its clock tick. Without the agent's care,
zero-hold calls from any SIP peer leak one port each, and once the 128 ports are gone every call
gets 488 (and a re-INVITE storm or repeated hold/unhold aborts the agent). These tests send what
a hostile or careless peer sends, with SIPp, and count what it saw: every call answered, the
bridge back to its master port, the agent alive. With the leak left in place on purpose
(``--fault-bridge-leak``) the agent notices, drains, restarts itself in place and answers again.
"""

from __future__ import annotations

import csv
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import CallCallback
from tests.faults.conftest import FaultFleet, start_fleet
from tests.helpers import Recorder, sipp_path, wait_for

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture(params=["null", "none"])
def fleet1(request: pytest.FixtureRequest) -> Iterator[FaultFleet]:
    """One agent with the null sound device (a clocked bridge) or none (no clock)."""
    yield from start_fleet(1, agent_args=["--audio", request.param])


def _sipp(hostport: str, cwd: Path, args: list[str], timeout: float) -> tuple[int, dict[str, int]]:
    """SIPp to the end: its exit status and its final cumulative counters."""
    proc = subprocess.run([sipp_path(), "-nostdin", "-i", "127.0.0.1", hostport, *args,
                           "-trace_stat", "-trace_err", "-timeout", str(int(timeout))],
                          cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.STDOUT, timeout=timeout + 20)
    stat = sorted(cwd.glob("*_.csv"))[-1]
    with open(stat, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    stat.unlink()  # the next run of the test writes its own
    return proc.returncode, {k: int(v) for k, v in zip(rows[0], rows[-1], strict=False)
                             if k.endswith("(C)") and v.isdigit()}


def _agent(fleet: FaultFleet) -> dict[str, Any]:
    (only,) = fleet.lib.agents()
    return only


def test_1000_zero_hold_calls_leak_no_bridge_port(fleet1: FaultFleet, tmp_path: Path) -> None:
    lib = fleet1.lib
    pid = fleet1.procs[fleet1.names[0]].pid
    svc = lib.create_account("sip:svc@127.0.0.1", auto_answer=200)
    rc, stats = _sipp(svc.contact.split("@")[1], tmp_path,
                      ["-sn", "uac", "-s", "svc", "-r", "20", "-l", "3", "-m", "1000", "-d", "0"],
                      timeout=120)
    print(f"sipp: exit {rc}, {stats.get('SuccessfulCall(C)')} answered, "
          f"{stats.get('FailedCall(C)')} failed")
    assert (rc, stats["SuccessfulCall(C)"], stats["FailedCall(C)"]) == (0, 1000, 0)
    # the bridge holds its master port only, as before the calls; the agent never recycled
    wait_for(lambda: _agent(fleet1).get("bridge_used") == 1, 5, "the bridge to hold 1 port")
    agent = _agent(fleet1)
    assert agent["bridge_max"] == 128 and agent["bridge_leaked"] == 0
    assert agent["state"] == "ready" and agent["pid"] == pid
    assert agent["sockets_leaked"] == 0


class _Media(CallCallback):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[str] = []
        self.changed = threading.Condition()

    def on_media_state(self) -> None:
        assert self.call is not None
        with self.changed:
            self.states.append(self.call.info().media_state)
            self.changed.notify_all()

    def reach(self, state: str, timeout: float = 5.0) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.states[-1:] == [state], timeout), \
                self.states[-3:]


@pytest.fixture
def fleet2_none() -> Iterator[FaultFleet]:
    yield from start_fleet(2, agent_args=["--audio", "none"])


def test_1000_hold_and_unhold_on_one_call(fleet2_none: FaultFleet) -> None:
    """Every hold and unhold makes the call's stream anew (a bridge port each); on 2.15.1 the
    129th aborted an agent without a bridge clock."""
    lib = fleet2_none.lib
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    media = _Media()  # given with the call: its first media state may come at once
    call = alice.make_call(bob.contact, cb=media)
    wait_for(lambda: media.states[-1:] == ["ACTIVE"], 10, "the call's media")
    for _ in range(500):
        call.hold()
        media.reach("LOCAL_HOLD")
        call.unhold()
        media.reach("ACTIVE")
    call.hangup()
    wait_for(lambda: not lib.status()["calls"], 10, "the call to end")
    # both agents answer a new call, and their bridges hold their master port only
    out = Recorder()
    again = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "a call after the holds")
    again.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "it to end")
    wait_for(lambda: all(a.get("bridge_used") == 1 for a in lib.agents()), 5, "idle bridges")


def test_a_1000_reinvite_storm_is_answered(fleet2_none: FaultFleet, tmp_path: Path) -> None:
    """A peer with an answered call sends re-INVITEs back to back (sendonly, sendrecv, ...):
    each is answered, and the agent answers a new call afterwards."""
    lib = fleet2_none.lib
    svc = lib.create_account("sip:svc@127.0.0.1", auto_answer=200)
    rc, stats = _sipp(svc.contact.split("@")[1], tmp_path,
                      ["-sf", str(SCENARIOS / "uac_reinvite_storm.xml"), "-s", "svc", "-m", "1",
                       "-trace_msg"], timeout=60)
    messages = next(tmp_path.glob("*_messages.log")).read_text(errors="replace")
    assert (rc, stats["SuccessfulCall(C)"]) == (0, 1), messages[-3000:]
    assert messages.count("CSeq: 1001 INVITE") >= 2  # the 1000th re-INVITE and its 200
    rc, stats = _sipp(svc.contact.split("@")[1], tmp_path,
                      ["-sn", "uac", "-s", "svc", "-m", "1", "-d", "100"], timeout=30)
    assert (rc, stats["SuccessfulCall(C)"]) == (0, 1)


@pytest.fixture
def leaking() -> Iterator[FaultFleet]:
    """Two agents without a bridge clock, whose leak is left in place (fault injection)."""
    yield from start_fleet(2, agent_args=["--audio", "none", "--fault-bridge-leak"])


def test_a_leaking_agent_drains_recycles_in_place_and_serves_again(leaking: FaultFleet,
                                                                   tmp_path: Path) -> None:
    lib = leaking.lib
    tap = leaking.tap()
    svc = lib.create_account("sip:svc@127.0.0.1", auto_answer=200)
    victim = svc.agent
    other = next(n for n in leaking.names if n != victim)
    pid = leaking.proc(victim).pid
    hostport = svc.contact.split("@")[1]
    states: set[str] = set()
    stop = threading.Event()

    def watch() -> None:  # what `callfleet status` shows meanwhile
        while not stop.is_set():
            states.add(str(leaking.agents().get(victim, {}).get("state", "absent")))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _, first = _sipp(hostport, tmp_path, ["-sn", "uac", "-s", "svc", "-r", "20", "-l", "3",
                                              "-m", "200", "-d", "0"], timeout=60)
        tap.wait(lambda evs: any(e["op"] == "agent.draining" and e["obj"] == victim
                                 for e in evs), 5, "the victim's agent.draining event")
        wait_for(lambda: leaking.agents().get(victim, {}).get("state") == "ready", 15,
                 "the victim back")
    finally:
        stop.set()
        watcher.join()
    drained = next(e for e in tap.drain() if e["op"] == "agent.draining")
    moved = [e for e in tap.about(svc.id, "acc.moved")]
    print(f"sipp: {first.get('SuccessfulCall(C)')} answered, {first.get('FailedCall(C)')} "
          f"failed; drained: {drained['data']['why']}; states seen {sorted(states)}")
    assert drained["data"]["bridge_leaked"] >= 32
    assert {"draining", "recycling"} & states
    # recycled in place: the same process, no exit; clean again
    assert leaking.proc(victim).pid == pid and leaking.proc(victim).poll() is None
    agent = leaking.agents()[victim]
    assert agent["bridge_used"] <= 2 and agent["bridge_leaked"] == 0
    assert first["SuccessfulCall(C)"] >= 32  # it answered until the leak was found
    # svc moved to the other agent as soon as the victim drained, and answers there
    assert [e["data"]["reason"] for e in moved] == ["recycle"] and svc.agent == other
    _, again = _sipp(svc.contact.split("@")[1], tmp_path,
                     ["-sn", "uac", "-s", "svc", "-r", "10", "-m", "20", "-d", "0"], timeout=30)
    assert again["SuccessfulCall(C)"] == 20
    # the recycled agent takes accounts and calls again, on the SIP address it had
    made = lib.request("acc.create", {"uri": "sip:bob@127.0.0.1", "auto_answer": 200,
                                      "agent": victim})
    assert made["agent"] == victim and made["contact"].split("@")[1] == hostport
    _, bob = _sipp(hostport, tmp_path, ["-sn", "uac", "-s", "bob", "-r", "10", "-m", "10",
                                        "-d", "0"], timeout=30)
    assert bob["SuccessfulCall(C)"] == 10
