"""The CURVE-secured control channel with real processes and real sockets: a keyed fleet carries a
call end to end; unknown keys, no key and a wrong server key get nothing through; a read-only
client reads but cannot act; objects belong to the key that created them; off-loopback binds
need keys or --insecure (tested inside a network namespace the test creates)."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import Error, Lib
from coordinator.client.connection import Connection
from proto import ProtoError
from proto.curve import ClientKeys
from tests import netns
from tests.helpers import (
    Answerer,
    Recorder,
    free_tcp_port,
    free_udp_port,
    start_sipp,
    stop,
    wait_for,
)
from tests.interop import test_node as node_interop

PY = sys.executable
#: the Node.js project (npm packages installed once per module) of the interop tests
node_project = node_interop.node_project
ROOT = Path(__file__).resolve().parents[2]


def _keys(directory: Path, name: str) -> tuple[Path, Path]:
    """``callfleet keys DIR --name NAME``: (public .key, .key_secret)."""
    out = subprocess.run([PY, "-m", "coordinator.cli", "keys", str(directory), "--name", name],
                         capture_output=True, text=True, timeout=30, cwd=ROOT,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return directory / f"{name}.key", directory / f"{name}.key_secret"


@dataclass
class KeyRing:
    coordinator: tuple[Path, Path]
    agent: tuple[Path, Path]
    alice: tuple[Path, Path]
    bob: tuple[Path, Path]
    reader: tuple[Path, Path]
    stranger: tuple[Path, Path]
    admin: tuple[Path, Path]
    dirs: dict[str, Path]

    def coordinator_args(self) -> list[str]:
        return ["--key", str(self.coordinator[1]), "--agents-keys", str(self.dirs["agents"]),
                "--clients-keys", str(self.dirs["clients"]),
                "--readonly-keys", str(self.dirs["readonly"]),
                "--admin-keys", str(self.dirs["admins"])]

    def client(self, url: str, who: tuple[Path, Path], timeout: float = 15.0) -> Lib:
        return Lib.connect(url, timeout=timeout, server_key=str(self.coordinator[0]),
                           key=str(who[1]))


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    base = tmp_path_factory.mktemp("keys")
    dirs = {d: base / d for d in ("agents", "clients", "readonly", "admins", "elsewhere")}
    return KeyRing(coordinator=_keys(base, "coordinator"), agent=_keys(dirs["agents"], "agent"),
                   alice=_keys(dirs["clients"], "alice"), bob=_keys(dirs["clients"], "bob"),
                   reader=_keys(dirs["readonly"], "reader"),
                   stranger=_keys(dirs["elsewhere"], "stranger"),
                   admin=_keys(dirs["admins"], "admin"), dirs=dirs)


@dataclass
class Fleet:
    coordinator: subprocess.Popen[bytes]
    log: Path
    urls: dict[str, str]
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def coordinator_log(self) -> str:
        return self.log.read_text(errors="replace")


def _start_coordinator(argv: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The coordinator with stderr to ``log``; (process, its first stdout line)."""
    with open(log, "wb") as err:
        co = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                              cwd=ROOT)
    assert co.stdout is not None
    return co, co.stdout.readline().decode()


def _agent(fleet: Fleet, name: str, ring: KeyRing, key: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([PY, "-m", "agent", "--coordinator", fleet.urls["agents"], "--name",
                             name, "--sip-host", "127.0.0.1", "--server-key",
                             str(ring.coordinator[0]), "--key", str(key)],
                            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=ROOT)
    fleet.agents[name] = proc
    return proc


@pytest.fixture
def fleet(ring: KeyRing, tmp_path: Path) -> Iterator[Fleet]:
    """A coordinator with keys and two agents with keys, on loopback; every process must exit 0."""
    url = "tcp://127.0.0.1:*"
    co, line = _start_coordinator([PY, "-m", "coordinator.cli", "coordinator", "--agents-bind",
                                   url, "--clients-bind", url, "--events-bind", url, "--ready",
                                   "--adopt-window", "0", *ring.coordinator_args()],
                                  tmp_path / "coordinator.log")
    f = Fleet(co, tmp_path / "coordinator.log", {})
    try:
        assert line.startswith("READY "), f.coordinator_log()
        f.urls = json.loads(line[6:])
        for name in ("keyed-1", "keyed-2"):
            _agent(f, name, ring, ring.agent[1])
        yield f
    finally:
        codes = {name: stop(p, 15) for name, p in f.agents.items()}
        codes["coordinator"] = stop(co, 5)
        assert co.stdout is not None
        co.stdout.close()
    assert set(codes.values()) == {0}, codes


def _agents(lib: Lib) -> set[str]:
    return {a["name"] for a in lib.agents()}


def _forbidden(fn: Any, *args: Any, **kwargs: Any) -> Error:
    with pytest.raises(Error) as info:
        fn(*args, **kwargs)
    assert info.value.err_code == "E_FORBIDDEN", info.value
    return info.value


def test_keyed_fleet_calls_end_to_end_with_roles_and_ownership(fleet: Fleet, ring: KeyRing,
                                                              tmp_path: Path) -> None:
    alice = ring.client(fleet.urls["clients"], ring.alice)
    bob = ring.client(fleet.urls["clients"], ring.bob)
    reader = ring.client(fleet.urls["clients"], ring.reader)
    libs = [alice, bob, reader]
    watchers: dict[str, tuple[subprocess.Popen[bytes], Path, Path]] = {}
    try:
        wait_for(lambda: _agents(alice) == {"keyed-1", "keyed-2"}, 30, "both keyed agents")
        # a read-only key follows the call.state events: by subscription and on the firehose
        for src in ("coordinator", "events"):
            watchers[src] = _events_cli(fleet, ring, src, tmp_path)
        for src, (_, _, err) in watchers.items():
            wait_for(lambda err=err: "subscribed" in err.read_text(), 30, f"{src} watcher")
        answerer = Answerer()
        callee = alice.create_account("sip:callee@127.0.0.1", cb=answerer)
        caller = alice.create_account("sip:caller@127.0.0.1")
        assert callee.agent != caller.agent or len(_agents(alice)) == 2
        rec = Recorder()
        call = caller.make_call(callee.contact, cb=rec)
        wait_for(lambda: rec.reached("CONFIRMED"), 30, "the keyed call to be answered")
        wait_for(lambda: bool(answerer.recorders) and answerer.recorders[0].reached("CONFIRMED"),
                 30, "the callee side to be confirmed")

        # the read-only client reads: status, agents, load.status (E_NOT_FOUND, not refused)
        status = reader.status()
        assert status["calls"] == 2 and status["accounts"] == 2
        assert _agents(reader) == {"keyed-1", "keyed-2"}
        with pytest.raises(Error) as missing:
            reader.request("load.status", {"run": "no-such-run"})
        assert missing.value.err_code == "E_NOT_FOUND"
        # ... but every control op is refused, on its own objects or anyone's
        err = _forbidden(reader.request, "call.hangup", {"call": call.id})
        assert "read-only" in err.err_msg
        _forbidden(reader.create_account, "sip:intruder@127.0.0.1")
        _forbidden(reader.request, "load.start", {"rate": 1.0, "calls": 1, "self": True})

        # another full-control client cannot touch alice's call or accounts
        err = _forbidden(bob.request, "call.hangup", {"call": call.id})
        assert call.id in err.err_msg
        _forbidden(bob.request, "call.info", {"call": call.id})
        _forbidden(bob.request, "call.make", {"acc": caller.id, "uri": callee.contact})
        _forbidden(bob.request, "acc.delete", {"acc": callee.id})
        # ... nor put a recorder on it (refused before anything about the call is told)
        err = _forbidden(bob.request, "media.create_recorder",
                         {"call": call.id, "filename": str(tmp_path / "spy.wav")})
        assert "keyed-" not in err.err_msg and not (tmp_path / "spy.wav").exists()
        # fleet-wide settings change every client's calls: an admin key only
        for lib in (alice, reader):
            err = _forbidden(lib.set_codec_priority, "PCMU", 0)
            assert "admin" in err.err_msg or "read-only" in err.err_msg
        _forbidden(alice.request, "agent.fatal", {"name": "keyed-1", "group": "agent",
                                                  "host": "h", "from_state": "BACKOFF"})
        admin = ring.client(fleet.urls["clients"], ring.admin)
        libs.append(admin)
        assert any(c.startswith("speex") for c in admin.set_codec_priority("speex", 0))
        # a second connection with alice's key is alice: objects belong to the key
        alice2 = ring.client(fleet.urls["clients"], ring.alice)
        libs.append(alice2)
        assert alice2.request("call.info", {"call": call.id})["state"] == "CONFIRMED"
        assert alice.status()["calls"] == 2, "nothing was lost to the refused requests"

        call.hangup()
        wait_for(lambda: rec.last() == "DISCONNECTED", 30, "the call to end")
        wait_for(lambda: alice.status()["calls"] == 0, 30, "both legs to be gone")
        # the read-only watchers saw the call's states
        for src, (_, out, _) in watchers.items():
            wait_for(lambda o=out: "DISCONNECTED" in _states(o, call.id), 30, f"{src} events")
            assert {"CALLING", "CONFIRMED"} <= set(_states(out, call.id)), src
        caller.delete()
        callee.delete()
    finally:
        for lib in libs:
            lib.destroy()
        for proc, _, _ in watchers.values():
            assert stop(proc, 15) == 0


def _states(out: Path, call: str) -> list[str]:
    """The states of ``call`` in the JSON lines printed to ``out`` so far."""
    events = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    return [e["data"]["state"] for e in events if e.get("op") == "call.state" and e["obj"] == call]


def _events_cli(fleet: Fleet, ring: KeyRing, src: str,
                tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """`callfleet events` with the read-only key, from the clients socket or the PUB socket:
    (process, its stdout file, its stderr file)."""
    out_file, err = tmp_path / f"events-{src}.out", tmp_path / f"events-{src}.err"
    with open(err, "wb") as errs, open(out_file, "wb") as out:
        proc = subprocess.Popen([PY, "-m", "coordinator.cli", "events", f"--{src}",
                                 fleet.urls["clients" if src == "coordinator" else "events"],
                                 "--filter", "call.state", "--no-snapshot",
                                 "--server-key", str(ring.coordinator[0]),
                                 "--key", str(ring.reader[1])],
                                stdout=out, stderr=errs, stdin=subprocess.DEVNULL, cwd=ROOT)
    return proc, out_file, err


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_unknown_missing_or_wrong_keys_get_nothing_through(fleet: Fleet, ring: KeyRing,
                                                           tmp_path: Path) -> None:
    alice = ring.client(fleet.urls["clients"], ring.alice)
    try:
        wait_for(lambda: len(_agents(alice)) == 2, 30, "both keyed agents")
        # a client with a key the coordinator does not know: the connection never completes
        with pytest.raises(Error) as unknown:
            ring.client(fleet.urls["clients"], ring.stranger, timeout=3)
        assert unknown.value.err_code == "E_TIMEOUT"
        assert "allow-list" in unknown.value.err_msg and "--server-key" in unknown.value.err_msg
        wait_for(lambda: "refused a connection to clients" in fleet.coordinator_log(), 10,
                 "the coordinator to log the refused client key")
        # no key at all (a plain client): nothing either, and the error says why it may be
        with pytest.raises(Error) as plain:
            Lib.connect(fleet.urls["clients"], timeout=3)
        assert plain.value.err_code == "E_TIMEOUT" and "CURVE" in plain.value.err_msg
        # a known client key, but the wrong server key: the handshake cannot complete
        with pytest.raises(Error) as wrong:
            Lib.connect(fleet.urls["clients"], timeout=3, server_key=str(ring.stranger[0]),
                        key=str(ring.alice[1]))
        assert wrong.value.err_code == "E_TIMEOUT"
        # a refused connection holds nothing up: later requests time out too, close() is prompt
        conn = Connection(fleet.urls["clients"], queue.Queue(),
                          ClientKeys.load(str(ring.coordinator[0]), str(ring.stranger[1])))
        try:
            for _ in range(3):
                with pytest.raises(ProtoError) as silent:
                    conn.request("lib.status", {}, timeout=1)
                assert silent.value.code == "E_TIMEOUT"
        finally:
            conn.close()
        assert not conn._thread.is_alive(), "the connection's I/O thread is stuck"
        # (a thread that died of an exception instead fails the test: see the filterwarnings mark)
        # an unreadable key file is refused before anything is sent
        with pytest.raises(Error) as bad:
            Lib.connect(fleet.urls["clients"], server_key=str(tmp_path / "nope.key"),
                        key=str(ring.alice[1]))
        assert bad.value.err_code == "E_BAD_ARGS" and "nope.key" in bad.value.err_msg

        # an agent with an unknown key is never admitted, and keeps running (it retries)
        before = fleet.coordinator_log().count("refused a connection to agents")
        rogue = _agent(fleet, "rogue", ring, ring.stranger[1])
        wait_for(lambda: fleet.coordinator_log().count("refused a connection to agents") > before,
                 30, "the coordinator to refuse the rogue agent's key")
        assert rogue.poll() is None
        assert _agents(alice) == {"keyed-1", "keyed-2"}
        # the PUB firehose admits client keys only: an unknown key never gets subscribed
        watch = subprocess.run([PY, "-m", "coordinator.cli", "events", "--events",
                                fleet.urls["events"], "--timeout", "2", "--duration", "3",
                                "--server-key", str(ring.coordinator[0]),
                                "--key", str(ring.stranger[1])],
                               capture_output=True, text=True, timeout=60, cwd=ROOT,
                               stdin=subprocess.DEVNULL)
        assert watch.returncode == 0 and watch.stdout == "", watch
        assert "not reachable yet" in watch.stderr and "subscribed" not in watch.stderr
    finally:
        alice.destroy()


def test_cli_with_keys(fleet: Fleet, ring: KeyRing) -> None:
    """`callfleet status` with --server-key/--key sees the keyed fleet; without, it fails."""
    base = [PY, "-m", "coordinator.cli", "status", "--coordinator", fleet.urls["clients"]]
    keyed = base + ["--server-key", str(ring.coordinator[0]), "--key", str(ring.reader[1])]

    def status(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ROOT,
                              stdin=subprocess.DEVNULL)

    wait_for(lambda: "2 agents" in status(keyed).stdout, 60, "status to list both agents")
    out = status(base + ["--timeout", "2"])
    assert out.returncode == 2 and "E_TIMEOUT" in out.stderr and not out.stdout, out


# -- binding off loopback (inside a network namespace: nothing is exposed on a real interface) --

_WHY_NOT = netns.unavailable()
needs_netns = pytest.mark.skipif(_WHY_NOT is not None, reason=f"needs network namespaces: {_WHY_NOT}")


@pytest.fixture
def host() -> Iterator[netns.Hosts]:
    net = netns.Hosts(f"cfsec{os.getpid()}", ["co"])
    net.create()
    try:
        yield net
    finally:
        net.destroy()


def _coordinator_on(host: netns.Hosts, extra: list[str]) -> list[str]:
    exposed = f"tcp://{host.addr('co')}:*"
    return host.run("co", [PY, "-m", "coordinator.cli", "coordinator", "--agents-bind", exposed,
                           "--clients-bind", "tcp://127.0.0.1:*", "--events-bind", exposed,
                           "--ready", "--adopt-window", "0", *extra])


@needs_netns
def test_off_loopback_bind_needs_keys_or_insecure(host: netns.Hosts, ring: KeyRing,
                                                  tmp_path: Path) -> None:
    # no keys, no --insecure: refused at once, with the reason, before anything binds
    out = subprocess.run(_coordinator_on(host, []), capture_output=True, text=True, timeout=60,
                         cwd=ROOT, stdin=subprocess.DEVNULL)
    assert out.returncode == 2, out
    assert out.stdout == "" and f"refusing to bind tcp://{host.addr('co')}:*" in out.stderr
    assert "--insecure" in out.stderr and "--key" in out.stderr

    # --insecure: it starts, and says loudly what that means
    co, line = _start_coordinator(_coordinator_on(host, ["--insecure"]), tmp_path / "insecure.log")
    try:
        assert line.startswith("READY "), (tmp_path / "insecure.log").read_text()
        assert json.loads(line[6:])["agents"].startswith(f"tcp://{host.addr('co')}:")
        warning = (tmp_path / "insecure.log").read_text()
        assert "WARNING: INSECURE" in warning and host.addr("co") in warning
    finally:
        assert stop(co, 10) == 0
        assert co.stdout is not None
        co.stdout.close()

    # with keys: it starts with no warning, and a keyed client inside the namespace gets in
    co, line = _start_coordinator(_coordinator_on(host, ring.coordinator_args()),
                                  tmp_path / "keyed.log")
    try:
        assert line.startswith("READY "), (tmp_path / "keyed.log").read_text()
        urls = json.loads(line[6:])
        assert "WARNING" not in (tmp_path / "keyed.log").read_text()
        with netns.inside(host.ns("co")):
            lib = ring.client(urls["clients"], ring.reader)
        try:
            assert lib.status()["agents"] == []
        finally:
            lib.destroy()
    finally:
        assert stop(co, 10) == 0
        assert co.stdout is not None
        co.stdout.close()


def test_bad_key_options_fail_fast(ring: KeyRing, tmp_path: Path) -> None:
    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", *argv], capture_output=True, text=True, timeout=60,
                              cwd=ROOT, stdin=subprocess.DEVNULL)

    url = "tcp://127.0.0.1:*"
    co = ["coordinator.cli", "coordinator", "--agents-bind", url, "--clients-bind", url,
          "--events-bind", ""]
    out = run(co + ["--key", str(ring.coordinator[1])])
    assert out.returncode == 2 and "--agents-keys" in out.stderr, out
    out = run(co + ["--agents-keys", str(ring.dirs["agents"])])
    assert out.returncode == 2 and "--key" in out.stderr, out
    out = run(co + ["--key", str(ring.coordinator[0]), "--agents-keys", str(ring.dirs["agents"]),
                    "--clients-keys", str(ring.dirs["clients"])])
    assert out.returncode == 2 and "no secret key" in out.stderr, out
    out = run(["agent", "--server-key", str(ring.coordinator[0])])
    assert out.returncode == 2 and "--key" in out.stderr, out
    # `callfleet keys` never overwrites a key pair
    out = run(["coordinator.cli", "keys", str(ring.coordinator[0].parent), "--name", "coordinator"])
    assert out.returncode == 2 and "not overwritten" in out.stderr, out
    assert oct(ring.coordinator[1].stat().st_mode & 0o777) == "0o600"


def _keyed_client(url: str, ring: KeyRing, who: tuple[Path, Path]) -> Lib:
    """A keyed client, once the coordinator started by supervisord answers."""
    holder: list[Lib] = []

    def connected() -> bool:
        try:
            holder.append(ring.client(url, who, timeout=0.5))
        except Error:
            return False
        return True

    wait_for(connected, 40, "the keyed coordinator to answer")
    return holder[0]


def test_up_with_keys_serves_keyed_clients_only(ring: KeyRing, tmp_path: Path) -> None:
    """`callfleet up` with the coordinator's options and --agent-key; `callfleet call` with keys."""
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    up = subprocess.Popen([PY, "-m", "coordinator.cli", "up", "--agents", "1",
                           "--agents-bind", urls["agents"], "--clients-bind", urls["clients"],
                           "--events-bind", urls["events"], "--dir", str(tmp_path / "up"),
                           *ring.coordinator_args(), "--agent-key", str(ring.agent[1])],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, cwd=ROOT)
    try:
        lib = _keyed_client(urls["clients"], ring, ring.reader)
        try:
            wait_for(lambda: _agents(lib) == {"agent-01"}, 30, "the keyed agent of `up`")
        finally:
            lib.destroy()
        port = free_udp_port()
        uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "1"], tmp_path)
        try:
            call = subprocess.run([PY, "-m", "coordinator.cli", "call",
                                   f"sip:service@127.0.0.1:{port}", "--hold", "0.5",
                                   "--coordinator", urls["clients"], "--server-key",
                                   str(ring.coordinator[0]), "--key", str(ring.alice[1])],
                                  capture_output=True, text=True, timeout=60, cwd=ROOT,
                                  stdin=subprocess.DEVNULL)
            assert call.returncode == 0, call.stdout + call.stderr
            assert "CONFIRMED" in call.stdout and "DISCONNECTED" in call.stdout
            assert uas.wait(10) == 0
        finally:
            stop(uas)
        plain = subprocess.run([PY, "-m", "coordinator.cli", "call", "sip:x@127.0.0.1:9",
                                "--coordinator", urls["clients"], "--timeout", "1"],
                               capture_output=True, text=True, timeout=60, cwd=ROOT,
                               stdin=subprocess.DEVNULL)
        assert plain.returncode == 2 and "E_TIMEOUT" in plain.stderr, plain
    finally:
        code = stop(up, 30)  # SIGTERM: supervisord stops the agent and the coordinator
    assert code == 0


def test_shipped_config_with_keys(ring: KeyRing, tmp_path: Path) -> None:
    """deploy/coordinator-host.conf with the CURVE variables: keyed agents are admitted, the
    FATAL listener reports with the host's agent key, a plain client gets nothing."""
    from tests.integration.test_deploy import NAME, _env, _stopped_cleanly, supervisord

    env = _env(tmp_path, agents=2)
    env.update({"CALLFLEET_COORDINATOR_KEY": str(ring.coordinator[1]),
                "CALLFLEET_AGENTS_KEYS": str(ring.dirs["agents"]),
                "CALLFLEET_CLIENTS_KEYS": str(ring.dirs["clients"]),
                "CALLFLEET_READONLY_KEYS": str(ring.dirs["readonly"]),
                "CALLFLEET_SERVER_KEY": str(ring.coordinator[0]),
                "CALLFLEET_AGENT_KEY": str(ring.agent[1])})
    # another program holds agent 2's SIP port: it goes FATAL, and the listener must tell
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", int(env["CALLFLEET_SIP_PORT_BASE"]) + 2))
        with supervisord(env) as logdir:
            lib = _keyed_client(env["CALLFLEET_CLIENTS"], ring, ring.reader)
            try:
                wait_for(lambda: _agents(lib) == {f"{NAME}-01"}, 30, "the keyed agent")
                coordinator_log = logdir / "coordinator.log"
                wait_for(lambda: "FATAL" in coordinator_log.read_text(), 40,
                         "the keyed FATAL listener's report")
                assert f"reports agent:{NAME}-02 FATAL" in coordinator_log.read_text()
                with pytest.raises(Error) as plain:
                    Lib.connect(env["CALLFLEET_CLIENTS"], timeout=2)
                assert plain.value.err_code == "E_TIMEOUT"
            finally:
                lib.destroy()
    _stopped_cleanly(logdir, [f"{NAME}-01", "coordinator", "fatal"])


def test_node_client_with_curve_keys(node_project: tuple[str, Path], fleet: Fleet,
                                     ring: KeyRing) -> None:
    """Another language, from PROTOCOL.md 1.1 alone: Node.js reads the certificate files and
    sets the three CURVE options. A full key is served, a read-only key refused control ops
    (E_FORBIDDEN before E_NOT_FOUND), an unknown key gets nothing."""
    node, work = node_project

    def run(own: Path) -> dict[str, Any]:
        out = subprocess.run([node, "curve.mjs", fleet.urls["clients"], str(ring.coordinator[0]),
                              str(own)], cwd=work, capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stderr
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    full = run(ring.alice[1])
    assert full["status"]["version"] == 1 and full["hangup"]["code"] == "E_NOT_FOUND"
    reader = run(ring.reader[1])
    assert reader["status"]["version"] == 1 and reader["hangup"]["code"] == "E_FORBIDDEN"
    assert run(ring.stranger[1]) == {"status": None, "hangup": None}


@needs_netns
def test_shipped_configs_over_two_hosts_with_keys(ring: KeyRing, tmp_path: Path) -> None:
    """The README's two-host deployment with CURVE: the coordinator host binds its bridge
    address with keys, the agents host's agents and FATAL listener connect with theirs, and a
    keyed client drives a call between the hosts."""
    from tests.integration.test_multihost import _supervisord

    hosts = netns.Hosts(f"cfsk{os.getpid()}", ["co", "b"])
    hosts.create()
    co, b = hosts.addr("co"), hosts.addr("b")
    every_host = {"CALLFLEET_PYTHON": PY, "CALLFLEET_SERVER_KEY": str(ring.coordinator[0]),
                  "CALLFLEET_AGENT_KEY": str(ring.agent[1])}
    sups: dict[str, subprocess.Popen[bytes]] = {}
    lib: Lib | None = None
    try:
        sups["co"] = _supervisord(hosts, "co", "coordinator-host.conf", {
            **every_host, "CALLFLEET_LOG_DIR": str(tmp_path / "co"),
            "CALLFLEET_AGENTS_BIND": f"tcp://{co}:5600", "CALLFLEET_CLIENTS_BIND": f"tcp://{co}:5601",
            "CALLFLEET_EVENTS_BIND": f"tcp://{co}:5602", "CALLFLEET_NAME": "host1",
            "CALLFLEET_SIP_HOST": co, "CALLFLEET_AGENTS": "1",
            "CALLFLEET_COORDINATOR_KEY": str(ring.coordinator[1]),
            "CALLFLEET_AGENTS_KEYS": str(ring.dirs["agents"]),
            "CALLFLEET_CLIENTS_KEYS": str(ring.dirs["clients"]),
            "CALLFLEET_READONLY_KEYS": str(ring.dirs["readonly"])})
        sups["b"] = _supervisord(hosts, "b", "agents-host.conf", {
            **every_host, "CALLFLEET_LOG_DIR": str(tmp_path / "b"),
            "CALLFLEET_COORDINATOR": f"tcp://{co}:5600", "CALLFLEET_CLIENTS": f"tcp://{co}:5601",
            "CALLFLEET_NAME": "host2", "CALLFLEET_SIP_HOST": b, "CALLFLEET_AGENTS": "1"})
        with netns.inside(hosts.ns("co")):
            lib = Lib(f"tcp://{co}:5601", keys=ClientKeys.load(str(ring.coordinator[0]),
                                                                str(ring.alice[1])))
        assert {a["name"] for a in lib.wait_agents(2, 60)} == {"host1-01", "host2-01"}
        answerer = Answerer()
        callee = lib.create_account("sip:callee@callfleet.test", cb=answerer)
        caller = lib.create_account("sip:caller@callfleet.test")
        assert {callee.agent, caller.agent} == {"host1-01", "host2-01"}
        rec = Recorder()
        call = caller.make_call(callee.contact, cb=rec)
        wait_for(lambda: rec.reached("CONFIRMED") and "ACTIVE" in rec.media, 30,
                 "a keyed call between the two hosts")
        call.hangup()
        wait_for(lambda: rec.reached("DISCONNECTED"), 15, "the call to end")
        log = (tmp_path / "co" / "coordinator.log").read_text()
        assert "INSECURE" not in log and "refused" not in log, log
    finally:
        if lib is not None:
            lib.destroy()
        codes = {host: stop(sup, 40) for host, sup in sups.items()}
        hosts.destroy()
    assert codes == {"co": 0, "b": 0}, codes


def test_an_embedded_fleet_with_curve_keys() -> None:
    """Lib.start_local(curve=True): the embedded fleet's own keys; a plain client gets nothing."""
    lib = Lib.start_local(agents=1, curve=True)
    try:
        assert len(lib.agents()) == 1
        acc = lib.create_account("sip:embedded@127.0.0.1")
        acc.delete()
        with pytest.raises(Error) as plain:
            Lib.connect(lib.url, timeout=2)
        assert plain.value.err_code == "E_TIMEOUT"
    finally:
        lib.destroy()
    assert lib.exit_codes and set(lib.exit_codes.values()) == {0}, lib.exit_codes
