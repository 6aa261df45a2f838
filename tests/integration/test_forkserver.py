"""Embedded fleets fork their agents from one prepared process (agent.forkserver): the agents
are its children and complete agents (every other embedded-fleet test runs on them); their exit
statuses reach the fleet as a child's would; the server ends with the fleet; a fleet asked not
to fork starts fresh interpreters, which behave the same."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from coordinator.client import Lib
from coordinator.client.fleet import LocalFleet
from tests.helpers import Answerer, Recorder, children_of, wait_for


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return [part.decode() for part in f.read().split(b"\0") if part]


@pytest.fixture(params=[True, False], ids=["forked", "fresh"])
def fleet(request: pytest.FixtureRequest) -> Iterator[Lib]:
    lib = Lib.start_local(agents=2, fork=request.param)
    try:
        yield lib
    finally:
        lib.destroy()


def test_agents_call_each_other_and_report_their_end(fleet: Lib) -> None:
    local = fleet.fleet
    assert local is not None and local.coordinator is not None
    pids = [p.pid for p in local.agents]
    if local.fork:
        assert local.forks is not None
        server = local.forks.proc.pid
        assert _parent(server) == os.getpid()
        assert [_parent(p) for p in pids] == [server, server]
    else:
        assert local.forks is None
        assert [_parent(p) for p in pids] == [os.getpid(), os.getpid()]
        assert all(_cmdline(p)[1:3] == ["-m", "agent"] for p in pids)
    # a complete agent: a call between the two, with media
    answerer = Answerer(codes=(200,))
    alice = fleet.create_account("sip:alice@127.0.0.1")
    bob = fleet.create_account("sip:bob@127.0.0.1", cb=answerer)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and out.media == ["ACTIVE"], 10, "the call up")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call ended")
    # a killed agent's status is minus the signal, as subprocess gives it; the other ends cleanly
    local.agents[0].send_signal(signal.SIGKILL)
    assert local.agents[0].wait(10) == -signal.SIGKILL
    fleet.destroy()
    assert fleet.exit_codes["agent-1"] == -signal.SIGKILL
    assert fleet.exit_codes["agent-2"] == 0 and fleet.exit_codes["coordinator"] == 0
    assert children_of(os.getpid()) == []  # the fork server is gone with its agents
    assert fleet.callback_errors == []


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh"])
def test_an_agent_that_cannot_start_says_so_with_its_exit_status(
        fork: bool, capfd: pytest.CaptureFixture[str]) -> None:
    """Bad agent arguments: exit status 2 and argparse's one line, forked or not."""
    local = LocalFleet(0, agent_args=["--max-calls", "many"], fork=fork)
    local.start()
    try:
        proc = local.add_agent("bad-args")
        assert proc.wait(15) == 2
    finally:
        codes = local.stop()
    assert codes["agent-1"] == 2
    assert "argument --max-calls: invalid int value: 'many'" in capfd.readouterr().err
