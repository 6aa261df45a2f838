"""The shipped supervisord configurations (deploy/*.conf), read by supervisord's own parser with
the environment a user sets: every variable expands, agents get distinct names and ports, the
restart settings are those DESIGN.md asks for, and the commands parse with the real CLIs."""

from __future__ import annotations

import io
import shlex
from pathlib import Path
from typing import Any

import pytest
from supervisor.options import ServerOptions

from agent import endpoint
from agent.options import parse as parse_agent
from coordinator.cli.fatal_listener import main as listener_main  # noqa: F401 - the module imports
from coordinator.cli.main import build_parser
from coordinator.cli.options import default_lost_after
from coordinator.cli.up import environment as up_environment

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


#: the CURVE settings of deploy/callfleet.env (empty: no CURVE)
CURVE_VARS = ("CALLFLEET_COORDINATOR_KEY", "CALLFLEET_AGENTS_KEYS", "CALLFLEET_CLIENTS_KEYS",
              "CALLFLEET_READONLY_KEYS", "CALLFLEET_ADMIN_KEYS", "CALLFLEET_INSECURE",
              "CALLFLEET_SERVER_KEY", "CALLFLEET_AGENT_KEY")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"CALLFLEET_PYTHON": "/opt/callfleet/bin/python", "CALLFLEET_LOG_DIR": str(tmp_path),
           "CALLFLEET_AGENTS_BIND": "tcp://10.1.0.1:5600", "CALLFLEET_CLIENTS_BIND": "tcp://10.1.0.1:5601",
           "CALLFLEET_EVENTS_BIND": "tcp://10.1.0.1:5602", "CALLFLEET_LOST_AFTER": "",
           "CALLFLEET_COORDINATOR": "tcp://10.1.0.1:5600",
           "CALLFLEET_AGENTS": "3", "CALLFLEET_NAME": "hostb", "CALLFLEET_SIP_HOST": "10.1.0.2",
           "CALLFLEET_PUBLIC_ADDR": "", "CALLFLEET_SIP_PORT_BASE": "5070",
           "CALLFLEET_RTP_PORT_BASE": "20000", "CALLFLEET_METRICS_PORT": "",
           "CALLFLEET_METRICS_HOST": "127.0.0.1", "CALLFLEET_SIP_FRONT": "",
           "CALLFLEET_FRONT_AUTOSTART": "false", "CALLFLEET_FRONT_COORDINATOR": "tcp://10.1.0.1:5601",
           "CALLFLEET_FRONT_KEY": ""}
    env.update(dict.fromkeys(CURVE_VARS, ""))
    env.update(extra)
    return env


def _load(conf: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
          errors: io.StringIO | None = None) -> dict[str, Any]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    opts = ServerOptions()
    opts.stderr = errors or io.StringIO()  # supervisord's usage errors go here
    opts.realize(args=["-c", str(DEPLOY / conf)])
    return {g.name: g for g in opts.process_group_configs}


def _argv(command: str, module: str) -> list[str]:
    words = shlex.split(command)
    assert words[:3] == ["/opt/callfleet/bin/python", "-m", module], words
    return words[3:]


@pytest.mark.parametrize("conf", ["coordinator-host.conf", "agents-host.conf"])
def test_agents_get_distinct_names_and_ports(conf: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    groups = _load(conf, _env(tmp_path, CALLFLEET_PUBLIC_ADDR="192.0.2.9"), monkeypatch)
    agents = groups["agent"].process_configs
    assert [p.name for p in agents] == ["hostb-01", "hostb-02", "hostb-03"]
    parsed = [parse_agent(_argv(p.command, "agent")) for p in agents]
    assert [a.name for a in parsed] == ["hostb-01", "hostb-02", "hostb-03"]
    assert [a.sip_port for a in parsed] == [5071, 5072, 5073]
    rtp = [a.rtp_port for a in parsed]
    assert rtp == [20000 + k * endpoint.RTP_SPAN for k in (1, 2, 3)]
    assert all(a.coordinator == "tcp://10.1.0.1:5600" and a.sip_host == "10.1.0.2"
               and a.public_addr == "192.0.2.9" for a in parsed)
    assert len({p.stdout_logfile for p in agents}) == 3
    for p in agents:
        assert p.autorestart is not False and p.startretries == 3 and p.startsecs >= 1
        assert p.stopasgroup and p.killasgroup
        assert p.stopwaitsecs > 3 + 1  # the agent's call teardown grace (endpoint.stop) and more
    listener = groups["fatal"]
    assert [e.__name__ for e in listener.pool_events] == ["ProcessStateFatalEvent"]
    largv = _argv(listener.process_configs[0].command, "coordinator.cli.fatal_listener")
    assert largv == ["--coordinator", "tcp://10.1.0.1:5600", "--host", "hostb", "--server-key=",
                     "--key="]
    assert all(a.keys is None for a in parsed)  # empty key variables: plain connections
    assert ("coordinator" in groups) == (conf == "coordinator-host.conf")


def test_the_coordinator_command_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    groups = _load("coordinator-host.conf", _env(tmp_path, CALLFLEET_AGENTS="1"), monkeypatch)
    argv = _argv(groups["coordinator"].process_configs[0].command, "coordinator.cli")
    args = build_parser().parse_args(argv)
    assert (args.agents_bind, args.clients_bind, args.events_bind) == (
        "tcp://10.1.0.1:5600", "tcp://10.1.0.1:5601", "tcp://10.1.0.1:5602")
    assert args.lost_after is None  # empty: automatic, 5 s here as the bind is not loopback
    assert default_lost_after(args.agents_bind) == 5.0
    groups = _load("coordinator-host.conf", _env(tmp_path, CALLFLEET_LOST_AFTER="7.5"), monkeypatch)
    argv = _argv(groups["coordinator"].process_configs[0].command, "coordinator.cli")
    assert build_parser().parse_args(argv).lost_after == 7.5


def test_curve_settings_reach_every_program(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path, CALLFLEET_AGENTS="1", CALLFLEET_COORDINATOR_KEY="/k/server.key_secret",
               CALLFLEET_AGENTS_KEYS="/k/agents", CALLFLEET_CLIENTS_KEYS="/k/clients",
               CALLFLEET_READONLY_KEYS="/k/readonly", CALLFLEET_ADMIN_KEYS="/k/admins",
               CALLFLEET_SERVER_KEY="/k/server.key", CALLFLEET_AGENT_KEY="/k/hostb.key_secret")
    groups = _load("coordinator-host.conf", env, monkeypatch)
    server = build_parser().parse_args(_argv(groups["coordinator"].process_configs[0].command,
                                             "coordinator.cli"))
    assert (server.key, server.agents_keys, server.clients_keys, server.readonly_keys, server.admin_keys,
            server.insecure) == ("/k/server.key_secret", "/k/agents", "/k/clients", "/k/readonly",
                                 "/k/admins", False)
    words = _argv(groups["agent"].process_configs[0].command, "agent")
    assert "--server-key=/k/server.key" in words and "--key=/k/hostb.key_secret" in words
    largv = _argv(groups["fatal"].process_configs[0].command, "coordinator.cli.fatal_listener")
    assert largv[-2:] == ["--server-key=/k/server.key", "--key=/k/hostb.key_secret"]
    groups = _load("coordinator-host.conf", _env(tmp_path, CALLFLEET_INSECURE="1"), monkeypatch)
    server = build_parser().parse_args(_argv(groups["coordinator"].process_configs[0].command,
                                             "coordinator.cli"))
    assert server.insecure is True and server.key == ""


@pytest.mark.parametrize(("options", "port", "host"), [
    ([], None, "127.0.0.1"), (["--metrics-port", "9188"], 9188, "127.0.0.1"),
    (["--metrics-port", "0", "--metrics-host", "10.1.0.1"], 0, "10.1.0.1")])
def test_up_passes_its_metrics_options_to_the_coordinator(
        options: list[str], port: int | None, host: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`callfleet up`'s settings, through the shipped template and supervisord's parser, give
    the coordinator the /metrics options `up` was given (none: no /metrics)."""
    up_args = build_parser().parse_args(["up", *options])
    env = up_environment(up_args, tmp_path)
    groups = _load("coordinator-host.conf", env, monkeypatch)
    words = shlex.split(groups["coordinator"].process_configs[0].command)
    assert words[1:3] == ["-m", "coordinator.cli"]
    server = build_parser().parse_args(words[3:])
    assert (server.metrics_port, server.metrics_host) == (port, host)


@pytest.mark.parametrize(("options", "listen", "autostart", "coordinator"), [
    ([], None, False, "tcp://127.0.0.1:5601"),
    (["--sip-front", "127.0.0.1:5060"], ("127.0.0.1", 5060), True, "tcp://127.0.0.1:5601"),
    (["--sip-front", "[::1]:5062", "--clients-bind", "tcp://*:7001"], ("::1", 5062), True,
     "tcp://127.0.0.1:7001")])
def test_up_sip_front_starts_the_front_program(
        options: list[str], listen: tuple[str, int] | None, autostart: bool, coordinator: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`up --sip-front`, through the shipped template and supervisord's parser: the front
    program starts (only then) with a command `callfleet front` parses, reading the agent list
    from a clients URL it can connect to."""
    env = up_environment(build_parser().parse_args(["up", *options]), tmp_path)
    groups = _load("coordinator-host.conf", env, monkeypatch)
    front = groups["front"].process_configs[0]
    assert front.autostart is autostart
    if listen is None:
        return
    words = shlex.split(front.command)
    args = build_parser().parse_args(words[3:])
    assert (args.listen, args.coordinator, args.dir) == (listen, coordinator,
                                                          str(tmp_path / "front"))
    assert (args.server_key, args.key) == ("", "")


def test_an_empty_public_address_means_the_sip_host(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    groups = _load("agents-host.conf", _env(tmp_path, CALLFLEET_AGENTS="1"), monkeypatch)
    args = parse_agent(_argv(groups["agent"].process_configs[0].command, "agent"))
    assert args.public_addr == ""


def test_an_unset_variable_stops_supervisord(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _env(tmp_path)
    del env["CALLFLEET_SIP_HOST"]
    monkeypatch.delenv("CALLFLEET_SIP_HOST", raising=False)
    errors = io.StringIO()
    with pytest.raises(SystemExit):
        _load("agents-host.conf", env, monkeypatch, errors)
    assert "ENV_CALLFLEET_SIP_HOST" in errors.getvalue()


def test_the_defaults_file_sets_every_variable_the_configs_use() -> None:
    used: set[str] = set()
    for conf in ("coordinator-host.conf", "agents-host.conf"):
        text = (DEPLOY / conf).read_text()
        used |= {part.split(")s", 1)[0] for part in text.split("%(ENV_")[1:]}
    defaults = {line.split("=", 1)[0] for line in (DEPLOY / "callfleet.env").read_text().splitlines()
                if line and not line.startswith("#")}
    assert used == defaults


@pytest.mark.parametrize(("bind", "seconds"), [
    ("tcp://127.0.0.1:5600", 3.0), ("tcp://localhost:5600", 3.0), ("tcp://[::1]:5600", 3.0),
    ("tcp://127.0.0.1:*", 3.0), ("tcp://10.0.0.1:5600", 5.0), ("tcp://*:5600", 5.0),
    ("tcp://0.0.0.0:5600", 5.0)])
def test_lost_after_defaults_to_5_s_across_hosts(bind: str, seconds: float) -> None:
    assert default_lost_after(bind) == seconds


def test_lost_after_rejects_nonsense() -> None:
    for bad in ("0", "-1", "x"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["coordinator", f"--lost-after={bad}"])


def test_agent_port_options() -> None:
    a = parse_agent(["--sip-port-base", "6000", "--index", "7", "--rtp-port-base", "30000"])
    assert (a.sip_port, a.rtp_port) == (6007, 30000 + 7 * endpoint.RTP_SPAN)
    a = parse_agent(["--sip-port", "5999"])
    assert (a.sip_port, a.rtp_port) == (5999, 0)
    for bad in (["--sip-port", "1", "--sip-port-base", "2"], ["--sip-port-base", "65535", "--index", "1"],
                ["--index", "-1"], ["--rtp-port-base", "65530"]):
        with pytest.raises(SystemExit):
            parse_agent(bad)
