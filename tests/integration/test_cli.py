"""The `callfleet` command: `up` under a real supervisord (crash -> restart), `status`, `call`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from coordinator.client import Lib
from tests.helpers import Answerer, free_tcp_port, free_udp_port, start_sipp, stop, wait_for

CLI = [sys.executable, "-m", "coordinator.cli"]
SCENARIOS = Path(__file__).parent / "scenarios"


def _run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_up_restarts_a_crashed_agent_and_serves_calls(tmp_path: Path) -> None:
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    up = subprocess.Popen(CLI + ["up", "--agents", "2", "--agents-bind", urls["agents"],
                                 "--clients-bind", urls["clients"], "--events-bind", urls["events"],
                                 "--dir", str(tmp_path / "up")],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        lib: Lib | None = None

        def connected() -> bool:
            nonlocal lib
            try:
                lib = lib or Lib.connect(urls["clients"], timeout=0.5)
            except Exception:
                return False
            return len(lib.agents()) == 2

        wait_for(connected, 30, "supervisord to start the coordinator and 2 agents")
        assert lib is not None
        before = {a["name"]: a["pid"] for a in lib.agents()}
        assert sorted(before) == ["agent-01", "agent-02"]

        os.kill(before["agent-01"], signal.SIGKILL)
        wait_for(lambda: {a["name"]: a["pid"] for a in lib.agents()}.get("agent-01")
                 not in (None, before["agent-01"]), 20, "supervisord to restart agent-01")
        wait_for(lambda: len(lib.agents()) == 2, 10, "both agents admitted")
        lib.destroy()

        # `up` again on the same ports: refused at once, in one line, starting nothing
        again = _run(["up", "--agents", "1", "--agents-bind", urls["agents"], "--clients-bind",
                      urls["clients"], "--events-bind", urls["events"], "--dir",
                      str(tmp_path / "up2")], timeout=10)
        assert again.returncode == 2 and again.stderr.count("\n") == 1, again.stderr
        assert f"cannot bind {urls['agents']}: Address already in use" in again.stderr
        assert not (tmp_path / "up2" / "supervisord.log").exists()

        status = _run(["status", "--coordinator", urls["clients"]])
        assert status.returncode == 0, status.stderr
        assert "agent-01" in status.stdout and "agent-02" in status.stdout
        assert "2 agents, 0 calls of 8 slots" in status.stdout

        port = free_udp_port()
        uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "1"], tmp_path)
        try:
            call = _run(["call", f"sip:service@127.0.0.1:{port}", "--hold", "0.5",
                         "--coordinator", urls["clients"]])
            assert call.returncode == 0, call.stdout + call.stderr
            states = [line.split()[1] for line in call.stdout.splitlines() if "s  " in line]
            assert states == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
            assert uas.wait(10) == 0
        finally:
            stop(uas)
    finally:
        code = stop(up, 30)  # SIGTERM, then SIGKILL after 30 s
        assert up.stdout is not None
        up.stdout.close()
    assert code == 0


def test_call_exit_status_reflects_the_answer(tmp_path: Path) -> None:
    port = free_udp_port()
    busy = start_sipp(["-sf", str(SCENARIOS / "uas_486.xml"), "-p", str(port), "-m", "1"],
                      tmp_path)
    try:
        rejected = _run(["call", f"sip:busy@127.0.0.1:{port}", "--local", "1"])
        assert rejected.returncode == 1, rejected.stdout + rejected.stderr
        assert "DISCONNECTED 486" in " ".join(rejected.stdout.split())
        assert busy.wait(10) == 0
    finally:
        stop(busy)


def test_status_without_a_coordinator_fails_clearly() -> None:
    out = _run(["status", "--coordinator", f"tcp://127.0.0.1:{free_tcp_port()}",
                "--timeout", "0.5"])
    assert out.returncode == 2
    assert "E_TIMEOUT" in out.stderr and out.stderr.count("\n") == 1


def test_call_mistakes_leave_no_account_on_the_fleet(lib: Lib) -> None:
    """A call that cannot start (here: not a URI) still deletes the account it made, every time:
    30 mistakes in a row on 2 agents (16 account slots) leave nothing behind."""
    for n in range(30):
        out = _run(["call", "not-a-uri", "--coordinator", lib.url])
        assert out.returncode == 1, f"mistake {n + 1}: {out.stdout}{out.stderr}"
        assert "E_BAD_ARGS" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert lib.status()["accounts"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_call_interrupted_while_ringing_cleans_up(lib: Lib, sig: signal.Signals) -> None:
    """Ctrl-C (or SIGTERM) while the call rings: the call is hung up and the account deleted
    before the command exits (the lease would only do it seconds later)."""
    bob = lib.create_account("sip:bob@127.0.0.1", cb=Answerer(codes=(180,)))  # rings, no more
    proc = subprocess.Popen(CLI + ["call", bob.contact, "--coordinator", lib.url,
                                   "--ring-timeout", "60"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        lines = iter(proc.stdout.readline, "")
        assert any("placed on agent" in line for line in lines), "the call was not placed"
        # ringing: bob's 180 reached the caller (bob's callback is done with the call)
        assert any("EARLY" in line for line in lines), "the call never rang"
        assert lib.status()["calls"] == 2
        proc.send_signal(sig)
        assert proc.wait(10) == 130
        assert "interrupted" in proc.stdout.read()
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()
    assert lib.status()["accounts"] == 1, "the command's account is left"
    wait_for(lambda: lib.status()["calls"] == 0, 2, "the call to be hung up")
    bob.delete()
