"""An embedded fleet for the interop tests, started with the launcher alone: the tests speak to it
only through the wire protocol (proto/PROTOCOL.md), never through the Python client."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgpack
import pytest
import zmq

from coordinator.client.fleet import LocalFleet


@dataclass
class Fleet:
    """A running fleet: its endpoints, and the agents a test killed on purpose."""

    local: LocalFleet
    killed: set[str] = field(default_factory=set)

    @property
    def clients_url(self) -> str:
        return self.local.clients_url

    @property
    def events_url(self) -> str:
        return self.local.events_url

    def kill_agent(self, pid: int) -> None:
        """SIGKILL the agent process ``pid`` (its exit status is then not checked)."""
        for i, proc in enumerate(self.local.agents):
            if proc.pid == pid:
                self.killed.add(f"agent-{i + 1}")
                os.kill(pid, signal.SIGKILL)
                proc.wait(10)
                return
        raise AssertionError(f"no agent of this fleet has pid {pid}")


def _agents_connected(url: str, n: int, timeout: float) -> None:
    """Poll lib.agents over a raw DEALER until ``n`` agents are connected."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)  # a silent coordinator fails the test, never hangs it
    sock.connect(url)
    try:
        deadline = time.monotonic() + timeout
        for i in range(100_000):
            sock.send(msgpack.packb({"v": 1, "kind": "req", "id": f"w{i}", "op": "lib.agents",
                                     "args": {}}))
            rep = msgpack.unpackb(sock.recv(), raw=False)
            if len(rep["result"]["agents"]) >= n:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{n} agents did not connect in {timeout:g} s")
            time.sleep(0.05)
    finally:
        sock.close(0)
        ctx.term()


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    """A coordinator and 2 agents; afterwards every process must have exited cleanly (no PJSIP
    assertion), except agents the test killed."""
    yield from run_fleet()


def run_fleet(agent_args: list[str] | None = None) -> Iterator[Fleet]:
    """The ``fleet`` fixture's fleet, its agents started with ``agent_args``."""
    f = Fleet(LocalFleet(2, agent_args=agent_args))
    f.local.start()
    try:
        _agents_connected(f.clients_url, 2, 30)
        yield f
    finally:
        codes = f.local.stop()
    unclean = {k: v for k, v in codes.items() if v != 0 and k not in f.killed}
    assert not unclean, codes
