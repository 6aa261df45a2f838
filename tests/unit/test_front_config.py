"""The SIP front's generated configuration (Kamailio accepts it: `kamailio -c`), its
dispatcher list of the fleet's ready agents, and the front's command-line checks."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest

from coordinator.cli.front import udp_taken
from coordinator.cli.urls import hostport
from coordinator.front.config import (
    Destination,
    FrontConfig,
    check,
    destinations,
    dispatcher_list,
    kamailio_exe,
    render,
    write_atomically,
)
from coordinator.front.follow import describe


def _agent(name: str, sip: list[str], state: str = "ready", host: str = "10.0.0.7") -> dict[str, object]:
    return {"name": name, "sip": sip, "state": state, "host": host}


@pytest.mark.parametrize("dests", [[], [Destination("agent-01", "sip:127.0.0.1:5070"),
                                        Destination("agent-02", "sip:127.0.0.1:5071")]])
def test_kamailio_accepts_the_generated_configuration(tmp_path: Path, dests: list[Destination]) -> None:
    exe = kamailio_exe()
    assert exe is not None, "kamailio is not installed (make test installs it)"
    cfg = FrontConfig("127.0.0.1", 5999, tmp_path)
    cfg.cfg_file.write_text(render(cfg))
    write_atomically(cfg.list_file, dispatcher_list(dests))
    ok, said = check(cfg.cfg_file, exe)
    assert ok, said
    assert "config file ok" in said


def test_kamailio_refuses_a_broken_configuration(tmp_path: Path) -> None:
    exe = kamailio_exe()
    assert exe is not None
    cfg = FrontConfig("127.0.0.1", 5999, tmp_path)
    cfg.cfg_file.write_text(render(cfg).replace("route(RELAY);", "route(RELAY)", 1))
    ok, said = check(cfg.cfg_file, exe)
    assert not ok and "error" in said.lower()


def test_the_configuration_names_its_files_and_address(tmp_path: Path) -> None:
    cfg = FrontConfig("192.0.2.1", 5080, tmp_path, fr_timer_ms=1500)
    text = render(cfg)
    assert "listen=udp:192.0.2.1:5080" in text
    assert f'"list_file", "{tmp_path / "dispatcher.list"}"' in text
    assert f"unix:{tmp_path / 'kamailio.ctl'}" in text
    assert 'modparam("tm", "fr_timer", 1500)' in text
    assert "{{" not in text and "{%" not in text
    assert cfg.uri == "sip:192.0.2.1:5080"
    assert FrontConfig("::1", 5080, tmp_path).uri == "sip:[::1]:5080"


def test_only_ready_agents_are_destinations_at_their_udp_address() -> None:
    agents = [_agent("agent-02", ["tcp:127.0.0.1:6000", "udp:127.0.0.1:5071"]),
              _agent("agent-01", ["udp:127.0.0.1:5070"]),
              _agent("agent-03", ["udp:127.0.0.1:5072"], state="draining"),
              _agent("agent-04", ["udp:127.0.0.1:5073"], state="lost"),
              _agent("agent-05", ["tls:127.0.0.1:5074"]),
              _agent("agent-06", ["udp:0.0.0.0:5075"], host="10.0.0.9"),
              _agent("agent-07", ["udp:[::1]:5076"])]
    assert destinations(agents) == [
        Destination("agent-01", "sip:127.0.0.1:5070"), Destination("agent-02", "sip:127.0.0.1:5071"),
        Destination("agent-06", "sip:10.0.0.9:5075"), Destination("agent-07", "sip:[::1]:5076")]


def test_the_dispatcher_list_has_one_line_per_agent_in_set_1() -> None:
    text = dispatcher_list([Destination("agent-01", "sip:127.0.0.1:5070")])
    rows = [r for r in text.splitlines() if not r.startswith("#")]
    assert rows == ["1 sip:127.0.0.1:5070 0 0 duid=agent-01"]
    assert [r for r in dispatcher_list([]).splitlines() if not r.startswith("#")] == []


def test_changes_are_described_by_name() -> None:
    a = [Destination(f"agent-{i:02d}", f"sip:127.0.0.1:{5070 + i}") for i in range(1, 13)]
    assert describe(None, a) == "12 agents (agent-01 .. agent-12)"
    assert describe(None, a[:2]) == "2 agents (agent-01, agent-02)"
    assert describe(None, []).startswith("0 agents: calls get 503")
    moved = [*a[1:4], Destination("agent-05", "sip:127.0.0.1:6000"),
             Destination("agent-13", "sip:127.0.0.1:5090")]
    assert describe(a[:5], moved) == "5 agents (+agent-13 -agent-01 ~agent-05)"


@pytest.mark.parametrize("text,want", [("127.0.0.1:5060", ("127.0.0.1", 5060)),
                                       ("[::1]:5070", ("::1", 5070)),
                                       ("front.example:5060", ("front.example", 5060))])
def test_listen_addresses(text: str, want: tuple[str, int]) -> None:
    assert hostport(text) == want


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":5060", "a:b"])
def test_bad_listen_addresses_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        hostport(text)


def test_a_busy_port_is_named() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        assert f"udp 127.0.0.1:{port}" in udp_taken("127.0.0.1", port)
    assert udp_taken("127.0.0.1", port) == ""
