"""Fault tests: real fleets whose agents the tests kill, stop, terminate and flood.

Every fault test runs inside a resource check: the test process's file descriptors, threads
and child processes are the same after the test as before it; no call is left in the fleet
(the coordinator's count and each agent's); the coordinator (when the test did not replace it)
and each agent that outlives the test hold no more descriptors and threads than when the fleet
was up (plus a small allowance) and have no child process. Every agent the test did not kill on
purpose must exit 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from coordinator.client import Lib
from coordinator.client.fleet import AgentProcess, die_with_parent
from tests.helpers import children_of, wait_for

Event = dict[str, Any]

#: descriptors an agent may hold beyond its count at start once its calls are over (PJSIP
#: keeps a few lazily opened ones: the null sound device's timer, resolver, ...)
AGENT_FD_SLACK = 8
#: threads an agent may have beyond its count at start (measured: 6 at start, during calls and
#: after them; one spare for a thread PJSIP might start lazily)
AGENT_THREAD_SLACK = 1
#: descriptors the coordinator may hold beyond its count once the fleet was up (a client
#: connection's socket closes asynchronously)
COORDINATOR_FD_SLACK = 2


def fd_count(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@dataclass(frozen=True)
class Usage:
    """What one process of the fleet holds: descriptors, threads, child processes."""

    fds: int
    threads: int
    children: int

    @classmethod
    def of(cls, pid: int) -> Usage:
        return cls(fd_count(pid), thread_count(pid), len(children_of(pid)))

    def within(self, start: Usage, fd_slack: int, thread_slack: int) -> bool:
        return (self.fds <= start.fds + fd_slack and self.threads <= start.threads + thread_slack
                and self.children == 0)


@dataclass
class Snapshot:
    fds: int
    threads: int
    children: set[int]

    @classmethod
    def now(cls) -> Snapshot:
        return cls(fd_count(), threading.active_count(), set(children_of(os.getpid())))


@dataclass
class FaultFleet:
    """An embedded fleet and what the test did to it."""

    lib: Lib
    #: the agents' names, in LocalFleet's order (a replacement repeats its predecessor's name)
    names: list[str] = field(default_factory=list)
    #: indexes of the agents killed on purpose: their exit status is not checked
    killed: set[int] = field(default_factory=set)
    fds_at_start: dict[str, int] = field(default_factory=dict)
    usage_at_start: dict[str, Usage] = field(default_factory=dict)
    #: the coordinator's pid and usage once the fleet was up
    coordinator_at_start: tuple[int, Usage] | None = None
    taps: list[EventTap] = field(default_factory=list)

    def tap(self) -> EventTap:
        """A connection subscribed to every event of the fleet (closed by the fixture)."""
        self.taps.append(EventTap(self.lib.url))
        return self.taps[-1]

    @property
    def procs(self) -> dict[str, AgentProcess]:
        """The latest process of each name."""
        assert self.lib.fleet is not None
        return dict(zip(self.names, self.lib.fleet.agents, strict=True))

    def name(self, index: int) -> str:
        return self.names[index]

    def proc(self, name: str) -> AgentProcess:
        return self.procs[name]

    def signal(self, name: str, sig: int) -> float:
        """Send ``sig`` to agent ``name``; returns the monotonic time it was sent."""
        t = time.monotonic()
        os.kill(self.proc(name).pid, sig)
        return t

    def kill(self, name: str) -> float:
        self.killed.add(len(self.names) - 1 - self.names[::-1].index(name))
        t = self.signal(name, signal.SIGKILL)
        self.proc(name).wait(10)
        return t

    def add_agent(self, name: str, log: Path | None = None) -> AgentProcess:
        """Start one more agent (as LocalFleet does), its stderr into ``log`` if given (at log
        level debug: its statistics at exit are there)."""
        fleet = self.lib.fleet
        assert fleet is not None
        self.names.append(name)
        if log is None:
            return fleet.add_agent(name)
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agent", "--coordinator", fleet.agents_url, "--name", name,
                 "--sip-host", fleet.host, "--log-level", "debug"], stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        fleet.agents.append(proc)
        return proc

    def agents(self) -> dict[str, dict[str, Any]]:
        return {a["name"]: a for a in self.lib.agents()}


def start_fleet(n: int, agent_args: list[str] | None = None,
           coordinator_args: list[str] | None = None, curve: bool = False) -> Iterator[FaultFleet]:
    before = Snapshot.now()
    lib = Lib.start_local(agents=n, agent_args=agent_args, coordinator_args=coordinator_args,
                          curve=curve)
    assert lib.fleet is not None
    f = FaultFleet(lib, names=[f"{lib.fleet.tag}-{i + 1}" for i in range(n)])
    try:
        f.fds_at_start = {name: fd_count(p.pid) for name, p in f.procs.items()}
        f.usage_at_start = {name: Usage.of(p.pid) for name, p in f.procs.items()}
        assert lib.fleet.coordinator is not None
        f.coordinator_at_start = (lib.fleet.coordinator.pid, Usage.of(lib.fleet.coordinator.pid))
        yield f
        # no call is left anywhere, in the coordinator or in any agent's count
        wait_for(lambda: lib.status()["calls"] == 0
                 and all(a["calls"] == 0 for a in lib.agents()), 10, "every call to be gone")
        for tap in f.taps:
            tap.close()
        f.taps.clear()
        _check_usage(f, n)
    finally:
        for tap in f.taps:
            tap.close()
        lib.destroy()
    assert lib.callback_errors == []
    killed = {f"agent-{i + 1}" for i in f.killed}
    unclean = {k: v for k, v in lib.exit_codes.items() if v != 0 and k not in killed}
    assert not unclean, (lib.exit_codes, f.names)
    # the test process is as it was: no descriptor, thread or child process left behind
    wait_for(lambda: Snapshot.now() == before, 10,
             f"resources back to {before} (now {Snapshot.now()})")


def _check_usage(f: FaultFleet, n: int) -> None:
    """Survivors hold no more descriptors and threads than at start (closed sockets and ended
    calls do not pile up) and no child process; likewise the coordinator, unless replaced."""
    fleet = f.lib.fleet
    assert fleet is not None
    for i, (name, p) in enumerate(zip(f.names, fleet.agents, strict=True)):
        if i in f.killed or p.poll() is not None or i >= n:
            continue
        start = f.usage_at_start[name]
        wait_for(lambda p=p, start=start: Usage.of(p.pid).within(  # type: ignore[misc]
            start, AGENT_FD_SLACK, AGENT_THREAD_SLACK), 10,
            f"agent {name} back to {start} (now {Usage.of(p.pid)})")
    server = fleet.coordinator
    if server is not None and f.coordinator_at_start is not None and server.poll() is None \
            and server.pid == f.coordinator_at_start[0]:
        start = f.coordinator_at_start[1]
        wait_for(lambda: Usage.of(server.pid).within(start, COORDINATOR_FD_SLACK, 0), 10,
                 f"the coordinator back to {start} (now {Usage.of(server.pid)})")


@pytest.fixture
def fleet2() -> Iterator[FaultFleet]:
    yield from start_fleet(2)


@pytest.fixture
def fleet2_curve() -> Iterator[FaultFleet]:
    """Two agents, every connection with CURVE keys (LocalFleet's own)."""
    yield from start_fleet(2, curve=True)


@pytest.fixture
def fleet3() -> Iterator[FaultFleet]:
    yield from start_fleet(3)


class EventTap:
    """A raw client connection subscribed to every event (``events.subscribe``): what the
    coordinator sends, exactly once each, in order, whoever owns the objects."""

    def __init__(self, url: str) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(url)
        self.events: list[Event] = []
        # a long lease: the tap only listens, it would not renew a short one
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": "tap-lease",
                                      "op": "client.lease", "args": {"lease": 3600.0}}))
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": "tap", "op": "events.subscribe",
                                      "args": {"snapshot": False}}))
        deadline = time.monotonic() + 10
        while True:  # the reply precedes every event the subscription delivers
            msg = self._recv(deadline)
            if msg["kind"] == "rep" and msg["id"] == "tap":
                assert msg["ok"], msg
                break

    def _recv(self, deadline: float) -> Event:
        left = deadline - time.monotonic()
        if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
            raise AssertionError("event tap: nothing received in time")
        msg: Event = msgpack.unpackb(self.sock.recv(), raw=False)
        return msg

    def drain(self) -> list[Event]:
        while self.sock.poll(0):
            msg: Event = msgpack.unpackb(self.sock.recv(), raw=False)
            if msg["kind"] == "evt":
                self.events.append(msg)
        return self.events

    def wait(self, pred: Callable[[list[Event]], bool], timeout: float, what: str) -> None:
        wait_for(lambda: pred(self.drain()), timeout, what)

    def about(self, obj: str, op: str = "") -> list[Event]:
        return [e for e in self.drain() if e["obj"] == obj and (not op or e["op"] == op)]

    def terminal(self, call: str) -> list[Event]:
        return [e for e in self.about(call, "call.state") if e["data"]["state"] == "DISCONNECTED"]

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def fleet4() -> Iterator[FaultFleet]:
    yield from start_fleet(4)
