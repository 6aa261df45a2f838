"""Mistakes people make with the command line: each is one line on stderr and exit 2, at once,
with nothing started and nothing left behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import free_tcp_port

CLI = [sys.executable, "-m", "coordinator.cli"]


def _run(args: list[str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=cwd)


def _one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == "" and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    return out.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["status", "--coordinator", "http://localhost:5601"], "not a coordinator URL"),
    (["status", "--coordinator", "5601"], "not a coordinator URL"),
    (["events", "--events", "udp://127.0.0.1:5602"], "not a coordinator URL"),
    (["load", "--rat", "10"], "unrecognized arguments: --rat"),
    (["call"], "required: uri"),
    (["stop"], "required: run"),
    (["front"], "required: --listen"),
    (["front", "--listen", "127.0.0.1:99999"], "is not HOST:PORT"),
    (["answer", "bob"], "is not a sip: or sips: URI"),
    (["answer", "sip:bob@127.0.0.1", "--code", "99"], "codes 200..699"),
    (["up", "--sip-front", "5060"], "is not HOST:PORT"),
    (["load", "-m", "1", "--via-front", "127.0.0.1:5060", "--target", "sip:a@127.0.0.1"],
     "--via-front is for --self"),
])
def test_usage_mistakes_are_one_line(tmp_path: Path, args: list[str], says: str) -> None:
    t0 = time.monotonic()
    assert says in _one_line(_run(args, tmp_path))
    assert time.monotonic() - t0 < 5, "found at once, not after a timeout"


def test_a_request_that_fails_is_one_line_without_op_noise(tmp_path: Path) -> None:
    out = _run(["status", "--coordinator", f"tcp://127.0.0.1:{free_tcp_port()}", "--timeout",
                "0.5"], tmp_path)
    line = _one_line(out)
    assert line.startswith("callfleet status: E_TIMEOUT: no reply") and "-.lib" not in line


def test_a_coordinator_or_up_whose_port_is_taken_says_so_and_starts_nothing(
        tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = f"tcp://127.0.0.1:{squatter.getsockname()[1]}"
        free = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "events")}
        coordinator = _run(["coordinator", "--clients-bind", taken, "--agents-bind",
                            free["agents"], "--events-bind", free["events"]], tmp_path)
        assert f"cannot bind {taken}: Address already in use" in _one_line(coordinator)
        t0 = time.monotonic()
        up = _run(["up", "--agents", "1", "--clients-bind", taken, "--agents-bind",
                   free["agents"], "--events-bind", free["events"], "--dir",
                   str(tmp_path / "up")], tmp_path)
        assert f"cannot bind {taken}" in _one_line(up)
        assert time.monotonic() - t0 < 10
        assert not (tmp_path / "up" / "supervisord.log").exists()  # supervisord never ran


def test_a_negative_hold_is_refused(tmp_path: Path) -> None:
    assert "not a number >= 0" in _one_line(_run(["call", "sip:a@127.0.0.1", "--hold", "-1"],
                                                 tmp_path))


def test_the_front_on_a_busy_port_or_without_a_coordinator_starts_nothing(tmp_path: Path) -> None:
    """One line, exit 2, no Kamailio, no work directory left in the temp dir."""
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        out = subprocess.run(CLI + ["front", "--listen", f"127.0.0.1:{port}"], capture_output=True,
                             text=True, timeout=30, stdin=subprocess.DEVNULL, cwd=tmp_path,
                             env={**os.environ, "TMPDIR": str(env_tmp)})
        assert f"cannot listen on udp 127.0.0.1:{port}: Address already in use" in _one_line(out)
        up = _run(["up", "--agents", "1", "--sip-front", f"127.0.0.1:{port}", "--dir",
                   str(tmp_path / "up")], tmp_path)
        assert f"udp 127.0.0.1:{port}" in _one_line(up)
        assert not (tmp_path / "up" / "supervisord.log").exists()
    out = subprocess.run(CLI + ["front", "--listen", f"127.0.0.1:{port}", "--coordinator",
                                f"tcp://127.0.0.1:{free_tcp_port()}", "--timeout", "0.5"],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                         cwd=tmp_path, env={**os.environ, "TMPDIR": str(env_tmp)})
    assert "E_TIMEOUT" in _one_line(out)
    assert list(env_tmp.iterdir()) == []  # no work directory left behind
