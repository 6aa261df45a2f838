"""The shipped deploy/coordinator-host.conf under a real supervisord, configured only through the
environment (as README "Running on several hosts" does), on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from agent import endpoint
from coordinator.client import Lib
from tests.helpers import children_of, free_tcp_port, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAME = "box"


def _free_udp_range(count: int) -> int:
    """A base such that base+1 .. base+count are free UDP ports on loopback (checked, not held)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            base: int = s.getsockname()[1]
        if base + count > 65000:
            continue
        try:
            with ExitStack() as stack:
                for port in range(base + 1, base + count + 1):
                    probe = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free UDP port range")


#: deploy/callfleet.env's CURVE settings (README "Security")
CURVE_VARS = ("CALLFLEET_COORDINATOR_KEY", "CALLFLEET_AGENTS_KEYS", "CALLFLEET_CLIENTS_KEYS",
              "CALLFLEET_READONLY_KEYS", "CALLFLEET_ADMIN_KEYS", "CALLFLEET_INSECURE",
              "CALLFLEET_SERVER_KEY", "CALLFLEET_AGENT_KEY")


def _env(tmp_path: Path, agents: int) -> dict[str, str]:
    """The environment a user sets (see deploy/callfleet.env), with free ports."""
    logdir = tmp_path / "log"
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    env = dict(os.environ)
    env.update({
        "CALLFLEET_PYTHON": sys.executable, "CALLFLEET_LOG_DIR": str(logdir),
        "CALLFLEET_AGENTS_BIND": urls["agents"], "CALLFLEET_CLIENTS_BIND": urls["clients"],
        "CALLFLEET_EVENTS_BIND": urls["events"], "CALLFLEET_LOST_AFTER": "",
        "CALLFLEET_COORDINATOR": urls["agents"], "CALLFLEET_CLIENTS": urls["clients"],
        "CALLFLEET_AGENTS": str(agents), "CALLFLEET_NAME": NAME, "CALLFLEET_SIP_HOST": "127.0.0.1",
        "CALLFLEET_PUBLIC_ADDR": "", "CALLFLEET_SIP_PORT_BASE": str(_free_udp_range(agents)),
        "CALLFLEET_RTP_PORT_BASE": str(_free_udp_range((agents + 1) * endpoint.RTP_SPAN)),
        "CALLFLEET_METRICS_PORT": "", "CALLFLEET_METRICS_HOST": "127.0.0.1",
        "CALLFLEET_SIP_FRONT": "", "CALLFLEET_FRONT_AUTOSTART": "false",
        "CALLFLEET_FRONT_COORDINATOR": urls["clients"], "CALLFLEET_FRONT_KEY": ""})
    env.update(dict.fromkeys(CURVE_VARS, ""))  # loopback: no CURVE keys needed
    return env


@contextmanager
def supervisord(env: dict[str, str]) -> Iterator[Path]:
    """supervisord -n with the shipped config and ``env``; yields the log directory. Stopped with
    SIGTERM, which must end it and everything it runs cleanly."""
    logdir = Path(env["CALLFLEET_LOG_DIR"])
    logdir.mkdir(exist_ok=True)
    sup = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-n", "-c",
                            str(DEPLOY / "coordinator-host.conf")],
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        yield logdir
    finally:
        if sup.poll() is None:
            sup.send_signal(signal.SIGTERM)
        try:
            code = sup.wait(40)
        except subprocess.TimeoutExpired:
            for pid in [*children_of(sup.pid), sup.pid]:  # leave nothing behind, then fail
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            sup.wait(5)
            raise
    assert code == 0, (logdir / "supervisord.log").read_text()


def _connect(url: str) -> Lib:
    holder: list[Lib] = []

    def connected() -> bool:
        try:
            holder.append(Lib.connect(url, timeout=0.5))
        except Exception:
            return False
        return True

    wait_for(connected, 30, "supervisord to start the coordinator")
    return holder[0]


def _stopped_cleanly(logdir: Path, names: list[str]) -> None:
    log = (logdir / "supervisord.log").read_text()
    for name in names:
        assert f"stopped: {name} (exit status 0)" in log, log


def test_shipped_config_runs_agents_restarts_a_killed_one_and_stops_cleanly(tmp_path: Path) -> None:
    env = _env(tmp_path, agents=3)
    with supervisord(env) as logdir:
        lib = _connect(env["CALLFLEET_CLIENTS"])
        try:
            names = [f"{NAME}-0{k}" for k in (1, 2, 3)]
            wait_for(lambda: sorted(a["name"] for a in lib.agents()) == names, 30,
                     "the 3 agents of the config to be admitted")
            base = int(env["CALLFLEET_SIP_PORT_BASE"])
            before = {a["name"]: a for a in lib.agents()}
            assert {n: a["sip"] for n, a in before.items()} == {
                f"{NAME}-0{k}": [f"udp:127.0.0.1:{base + k}"] for k in (1, 2, 3)}

            os.kill(before[f"{NAME}-02"]["pid"], signal.SIGKILL)

            def readmitted() -> bool:
                now = {a["name"]: a["pid"] for a in lib.agents()}
                return sorted(now) == names and now[f"{NAME}-02"] != before[f"{NAME}-02"]["pid"]

            wait_for(readmitted, 20, "supervisord to restart box-02 and the coordinator to admit it")
            after = {a["name"]: a for a in lib.agents()}
            assert after[f"{NAME}-02"]["sip"] == before[f"{NAME}-02"]["sip"]  # same port again
            assert all(after[n]["pid"] == before[n]["pid"] for n in (f"{NAME}-01", f"{NAME}-03"))
        finally:
            lib.destroy()
        log = (logdir / "supervisord.log").read_text()
        assert f"exited: {NAME}-02 (terminated by SIGKILL; not expected)" in log
    _stopped_cleanly(logdir, [*names, "coordinator", "fatal"])


def test_an_agent_that_cannot_start_goes_fatal_and_the_coordinator_is_told(tmp_path: Path) -> None:
    env = _env(tmp_path, agents=2)
    # another program holds agent 2's SIP port: it exits at once, is retried 3 times, given up
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", int(env["CALLFLEET_SIP_PORT_BASE"]) + 2))
        with supervisord(env) as logdir:
            lib = _connect(env["CALLFLEET_CLIENTS"])
            try:
                coordinator_log = logdir / "coordinator.log"
                wait_for(lambda: "FATAL" in coordinator_log.read_text(), 40,
                         "the coordinator to hear that box-02 is FATAL")
                assert (f"supervisord on '{NAME}' reports agent:{NAME}-02 FATAL (from BACKOFF)"
                        in coordinator_log.read_text())
                assert [a["name"] for a in lib.agents()] == [f"{NAME}-01"]
            finally:
                lib.destroy()
            sup_log = (logdir / "supervisord.log").read_text()
            assert f"gave up: {NAME}-02 entered FATAL state" in sup_log
            # 1 start + 3 retries; on a loaded machine a start may outlive startsecs (3 s) before
            # it fails, which supervisord counts as a successful start: one round more
            assert sup_log.count(f"exited: {NAME}-02 (exit status 2; not expected)") >= 4
            assert "Address already in use" in (logdir / f"{NAME}-02.log").read_text()
            listener = (logdir / "fatal-listener.log").read_text()
            assert f"{NAME}-02 is FATAL; reported to {env['CALLFLEET_COORDINATOR']}" in listener
    _stopped_cleanly(logdir, [f"{NAME}-01", "coordinator", "fatal"])
