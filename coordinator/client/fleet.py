"""An embedded fleet: a coordinator and N agents as child processes of the caller; the agents
forked from a prepared process (``agent.forkserver``: they share what they import, and start in
milliseconds), or each a fresh interpreter when that process cannot start.

Each runs in a session of its own, so that a Ctrl-C at the terminal reaches the program that
started the fleet and not the fleet: the program decides (a load run is stopped and reported,
then the fleet is stopped); the fleet still ends with its parent (SIGTERM on its death)."""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

import zmq.auth

from coordinator.client.forked import LOST, ForkServer
from proto.curve import ClientKeys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the parent dies (Linux), so an embedded
    fleet never outlives the program that started it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: stop() and atexit still apply


class AgentProcess(Protocol):
    """An agent's process handle: a ``subprocess.Popen`` or a forked agent's
    (coordinator.client.forked.ForkedAgent)."""

    pid: int

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...

    def kill(self) -> None: ...


def _stop_process(proc: AgentProcess, timeout: float, signalled: bool = False) -> None:
    """SIGTERM once (a second one could land while Python finalises, with default handlers
    back in place), wait, and SIGKILL only past ``timeout``."""
    if proc.poll() is None and not signalled:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


#: RTP ports of embedded fleets, below the kernel's ephemeral range: every agent gets its own
#: span from a base chosen per fleet (pjsua's own search, from 4000 in every process, gives
#: EADDRINUSE once dozens of agents on one host hold calls)
RTP_LOW, RTP_HIGH = 10000, 32000
#: ports each agent owns from its base (agent.endpoint.RTP_SPAN; the coordinator side does not
#: import pjsua2)
RTP_SPAN = 64


def rtp_port_base(agents: int, rng: random.Random | None = None) -> int:
    """A random base with room for ``agents`` spans below RTP_HIGH (spans are RTP_SPAN wide)."""
    slots = max(1, (RTP_HIGH - RTP_LOW) // RTP_SPAN - agents)
    return RTP_LOW + (rng or random.Random()).randrange(slots) * RTP_SPAN


class LocalFleet:
    def __init__(self, agents: int, agent_args: list[str] | None = None,
                 host: str = "127.0.0.1", coordinator_args: list[str] | None = None,
                 curve: bool = False, fork: bool = True) -> None:
        """``curve``: every connection uses CURVE keys made for this fleet alone (in a temporary
        directory, removed by stop()); a client connects with :attr:`client_keys`. ``fork``:
        agents forked from a prepared process (else each a fresh interpreter)."""
        self.n = agents
        self.agent_args = list(agent_args or [])
        self.coordinator_args = list(coordinator_args or [])
        self.metrics_url = ""
        self.host = host
        self.coordinator: subprocess.Popen[bytes] | None = None
        self.agents: list[AgentProcess] = []
        self.fork = fork
        self.forks: ForkServer | None = None
        self.agents_url = ""
        self.clients_url = ""
        self.events_url = ""
        self.tag = f"local{os.getpid()}"
        own_rtp = "--rtp-port-base" not in self.agent_args
        #: the next agent's span of RTP ports (0: the agent args choose)
        self._rtp_base = rtp_port_base(max(agents, 64)) if own_rtp else 0
        self._index = 0
        self._keydir: tempfile.TemporaryDirectory[str] | None = None
        self.client_keys: ClientKeys | None = None
        if curve:
            self._make_keys()

    def _make_keys(self) -> None:
        self._keydir = tempfile.TemporaryDirectory(prefix="callfleet-keys-")
        base = Path(self._keydir.name)
        pairs = {}
        for role in ("coordinator", "agents", "clients"):
            (base / role).mkdir()
            pairs[role] = zmq.auth.create_certificates(base / role, role)
        server_public, server_secret = pairs["coordinator"]
        self.coordinator_args += ["--key", server_secret, "--agents-keys", str(base / "agents"),
                                  "--clients-keys", str(base / "clients")]
        self.agent_args += ["--server-key", server_public, "--key", pairs["agents"][1]]
        self.client_keys = ClientKeys.load(server_public, pairs["clients"][1])

    def start(self, timeout: float = 30.0) -> None:
        """Start the coordinator on free loopback ports, then the agents."""
        url = f"tcp://{self.host}:*"
        self.coordinator = subprocess.Popen(
            [sys.executable, "-m", "coordinator.cli", "coordinator", "--agents-bind", url,
             "--clients-bind", url, "--events-bind", url, "--ready", "--adopt-window", "0",
             *self.coordinator_args],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent,
            start_new_session=True)
        atexit.register(self.stop)
        assert self.coordinator.stdout is not None
        line = self.coordinator.stdout.readline()  # the READY line; EOF if it failed
        if not line.startswith(b"READY "):
            self.stop()
            raise RuntimeError("the embedded coordinator did not start")
        urls = json.loads(line[6:])
        self.agents_url, self.clients_url, self.events_url = (
            urls["agents"], urls["clients"], urls["events"])
        self.metrics_url = urls.get("metrics", "")
        for i in range(self.n):
            self.add_agent(f"{self.tag}-{i + 1}")

    def add_agent(self, name: str) -> AgentProcess:
        ports: list[str] = []
        if self._rtp_base:
            # agents added later (replacements) take the next spans; past RTP_HIGH, wrap around
            span = RTP_LOW + ((self._rtp_base - RTP_LOW + self._index * RTP_SPAN)
                              % (RTP_HIGH - RTP_LOW))
            ports = ["--rtp-port-base", str(span)]
            self._index += 1
        argv = ["--coordinator", self.agents_url, "--name", name, "--sip-host", self.host,
                *ports, *self.agent_args]
        if self.fork and self.forks is None:
            try:
                self.forks = ForkServer(die_with_parent)
            except RuntimeError:
                self.fork = False  # each agent says why it cannot run, as started alone
        proc: AgentProcess
        if self.forks is not None:
            proc = self.forks.spawn(argv)
        else:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agent", *argv], stdout=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, start_new_session=True)
        self.agents.append(proc)
        return proc

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        """SIGTERM the agents (they hang up and unregister), then the coordinator.

        Returns each process's exit status (0: a clean exit; negative: killed by that signal,
        e.g. -6 for a PJSIP assertion)."""
        atexit.unregister(self.stop)
        for proc in self.agents:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.agents:
            _stop_process(proc, max(0.1, deadline - time.monotonic()), signalled=True)
        codes = {f"agent-{i + 1}": LOST if p.returncode is None else p.returncode
                 for i, p in enumerate(self.agents)}
        if self.forks is not None:
            self.forks.close(5)
            self.forks = None
        if self.coordinator is not None:
            _stop_process(self.coordinator, 5)
            if self.coordinator.stdout is not None:
                self.coordinator.stdout.close()
            codes["coordinator"] = self.coordinator.returncode
        if self._keydir is not None:
            self._keydir.cleanup()
        return codes
