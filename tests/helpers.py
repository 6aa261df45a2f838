"""Shared test helpers: polling with a deadline, call recorders, free ports, peers (SIPp)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coordinator.client import AccountCallback, Call, CallCallback


def wait_for(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``pred`` until true; fail the test with ``what`` when ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.01)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Recorder(CallCallback):
    """Records every state (name, code) and media state a call goes through."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[tuple[str, int]] = []
        self.media: list[str] = []
        self.lock = threading.Lock()

    def on_state(self) -> None:
        assert self.call is not None
        i = self.call.info()
        with self.lock:
            self.states.append((i.state, i.last_code))

    def on_media_state(self) -> None:
        assert self.call is not None
        with self.lock:
            self.media.append(self.call.info().media_state)

    def names(self) -> list[str]:
        with self.lock:
            return [s for s, _ in self.states]

    def last(self) -> str:
        names = self.names()
        return names[-1] if names else ""

    def reached(self, state: str) -> bool:
        return state in self.names()


class Answerer(AccountCallback):
    """Attaches a Recorder to each incoming call and answers with ``codes`` in turn."""

    def __init__(self, codes: tuple[int, ...] = (180, 200)) -> None:
        super().__init__()
        self.codes = codes
        self.calls: list[Call] = []
        self.recorders: list[Recorder] = []

    def on_incoming_call(self, call: Call) -> None:
        rec = Recorder()
        call.set_callback(rec)
        self.calls.append(call)
        self.recorders.append(rec)
        for code in self.codes:
            if code >= 300:
                call.hangup(code)
            else:
                call.answer(code)


def sipp_path() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester; `make test` installs it)")
    return path


def start_sipp(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    """SIPp as a real peer on loopback, with no stdin and its output kept in ``cwd``."""
    log = open(cwd / "sipp.out", "wb")  # noqa: SIM115 - closed by the process' end
    return subprocess.Popen([sipp_path(), "-nostdin", "-i", "127.0.0.1", *args], cwd=cwd,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def children_of(pid: int) -> list[int]:
    """Live descendant pids of ``pid`` (from /proc)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def step_lines(steps: Any) -> str:
    """A run's per-step figures (a report's ``steps``, or a map of them), one short line each:
    what an assertion about them shows when it fails."""
    rows = steps.values() if isinstance(steps, dict) else steps
    return "\n".join(f"{s['leg']}.{s['step']} {s['op']}: ok {s['ok']} failed "
                     f"{s['failed_by_reason']} lost {s['lost']}" for s in rows)
