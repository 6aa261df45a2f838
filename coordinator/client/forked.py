"""The owner's side of an embedded fleet's fork server (``agent.forkserver``): it starts agents
forked from one prepared process instead of a fresh interpreter each, and hands back, for each,
a process handle that behaves like ``subprocess.Popen``'s (pid, poll, wait, signals, returncode):
the server reports each agent's end, as only a parent can learn it.

Hand-written for the same reasons as the server (see its docstring); the coordinator side does
not import pjsua2, so the server runs as its own program (``python -m agent.forkserver``).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

#: how long the server may take to import everything an agent needs
START_S = 30.0
#: how long a fork may take to be confirmed
FORK_S = 10.0
#: the exit status of agents the server could not report (it died before them)
LOST = 255


class ForkedAgent:
    """An agent forked by the server: the subset of ``subprocess.Popen`` a fleet uses."""

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self._ended = threading.Event()

    def ended(self, code: int) -> None:
        self.returncode = code
        self._ended.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # never signal a pid that may have been reused
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    def __init__(self, preexec_fn: Callable[[], None] | None = None) -> None:
        """Start the server and wait until it is prepared; RuntimeError if it cannot be (its
        reason is on stderr: e.g. pjsua2 missing)."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.forkserver"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, preexec_fn=preexec_fn, start_new_session=True)
        self._stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        self._stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        self._pids: queue.Queue[int] = queue.Queue()
        self._agents: dict[int, ForkedAgent] = {}
        self._ended: dict[int, int] = {}  # reported before its handle was made
        self._lock = threading.Lock()  # the handles' tables (the reader updates them)
        self._spawning = threading.Lock()
        line = self._stdout.readline()  # blocks at most until the server is ready or died
        if not line.startswith(b'{"ready"'):
            self.close(1.0)
            raise RuntimeError("the agents' fork server did not start")
        self._reader = threading.Thread(target=self._read, name="forkserver", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stdout:
            msg: dict[str, Any] = json.loads(line)
            if "pid" in msg:
                self._pids.put(int(msg["pid"]))
            elif "exit" in msg:
                with self._lock:
                    agent = self._agents.pop(int(msg["exit"]), None)
                    if agent is None:
                        self._ended[int(msg["exit"])] = int(msg["code"])
                if agent is not None:
                    agent.ended(int(msg["code"]))
        with self._lock:  # the server is gone: so are its agents (SIGTERM on its death)
            left, self._agents = list(self._agents.values()), {}
        for agent in left:
            agent.ended(LOST)

    def spawn(self, argv: list[str]) -> ForkedAgent:
        """Fork an agent with these ``python -m agent`` arguments."""
        with self._spawning:  # one fork at a time: its pid is the next one reported
            self._stdin.write(json.dumps({"argv": argv}).encode() + b"\n")
            self._stdin.flush()
            pid = self._pids.get(timeout=FORK_S)
        agent = ForkedAgent(pid, argv)
        with self._lock:
            code = self._ended.pop(pid, None)
            if code is None:
                self._agents[pid] = agent
        if code is not None:
            agent.ended(code)
        return agent

    def close(self, timeout: float) -> None:
        """No more agents: the server exits once its last agent has (killed past
        ``timeout``)."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        reader = getattr(self, "_reader", None)
        if reader is not None:
            reader.join(5)
        self._stdout.close()
