"""SIP over UDP, TCP and TLS: agents started with `--transports udp,tcp,tls` (a certificate made
here by `openssl req -x509`), `lib.transports()` listing every listening address, accounts bound
to a transport calling each other over it (the Contacts and the kernel's connection table show
the transport), SIPp over TCP as a peer, and the errors: an agent without TCP, a transport no
agent listens on, TLS without a certificate."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.client import Error, Lib, Transport
from tests.helpers import Answerer, Recorder, free_tcp_port, start_sipp, stop, wait_for
from tests.integration.conftest import start_fleet


def make_cert(where: Path) -> tuple[Path, Path]:
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture
def tls_lib(tmp_path: Path) -> Iterator[Lib]:
    """Two agents listening on UDP, TCP and TLS."""
    cert, key = make_cert(tmp_path)
    yield from start_fleet(2, ["--transports", "udp,tcp,tls", "--tls-cert", str(cert),
                          "--tls-key", str(key)])


def by_agent(lib: Lib, kind: str) -> dict[str, Transport]:
    return {t.agent: t for t in lib.transports() if t.type == kind}


def established(port: int) -> bool:
    """Whether the kernel holds an established TCP connection to loopback ``port``."""
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    return f"127.0.0.1:{port}" in out


def test_transports_lists_every_listening_address(tls_lib: Lib) -> None:
    ts = tls_lib.transports()
    agents = {a["name"] for a in tls_lib.agents()}
    assert sorted((t.agent, t.type) for t in ts) == sorted(
        (a, k) for a in agents for k in ("udp", "tcp", "tls"))
    for t in ts:
        assert t.host == "127.0.0.1" and 0 < t.port < 65536
        info = t.info()
        assert (info.is_reliable, info.is_secure, info.is_datagram) == (
            t.type != "udp", t.type == "tls", t.type == "udp")
        if t.type != "udp":  # TCP and TLS really listen
            with socket.create_connection((t.host, t.port), timeout=5):
                pass
    # agents announce the same addresses in lib.agents
    sips = {a["name"]: set(a["sip"]) for a in tls_lib.agents()}
    assert all(f"{t.type}:{t.host}:{t.port}" in sips[t.agent] for t in ts)
    # with the SIP port left to the OS (0), TCP still takes the SIP port number, as the help says
    for agent in agents:
        ports = {t.type: t.port for t in ts if t.agent == agent}
        assert ports["tcp"] == ports["udp"], ports


@pytest.mark.parametrize("kind", ["tcp", "tls"])
def test_call_between_two_agents_over(tls_lib: Lib, kind: str) -> None:
    ts = by_agent(tls_lib, kind)
    a_agent, b_agent = sorted(ts)
    bobs = Answerer(codes=(180, 200))
    alice = tls_lib.create_account_for_transport(ts[a_agent], user="alice")
    bob = tls_lib.create_account_for_transport(ts[b_agent], cb=bobs, user="bob")
    assert (alice.agent, bob.agent) == (a_agent, b_agent)
    assert alice.uri == f"sip:alice@127.0.0.1:{ts[a_agent].port};transport={kind}"
    assert bob.contact == f"sip:bob@127.0.0.1:{ts[b_agent].port};transport={kind}"
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    assert call.agent == a_agent
    wait_for(lambda: out.reached("CONFIRMED") and bool(bobs.recorders)
             and bobs.recorders[0].reached("CONFIRMED"), 15, f"the {kind} call CONFIRMED")
    # both Contacts name the transport; bob's is his agent's listener (alice's, the address of
    # the connection she opened)
    mine, theirs = call.info(refresh=True), bobs.calls[0].info(refresh=True)
    assert f";transport={kind}" in mine.contact.lower()
    assert f"127.0.0.1:{ts[b_agent].port};transport={kind}" in mine.remote_contact.lower()
    assert theirs.remote_contact == mine.contact and theirs.contact == mine.remote_contact
    assert established(ts[b_agent].port), f"no {kind} connection to bob's agent"
    assert out.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED"]
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED" and bobs.recorders[0].last() == "DISCONNECTED",
             10, "the call to end")
    assert tls_lib.status()["calls"] == 0


def test_call_to_sipp_over_tcp(tls_lib: Lib, tmp_path: Path) -> None:
    port = free_tcp_port()
    uas = start_sipp(["-sn", "uas", "-t", "t1", "-p", str(port), "-m", "1"], tmp_path)
    try:
        alice = tls_lib.create_account("sip:alice@127.0.0.1")  # not bound: the URI picks TCP
        out = Recorder()
        wait_for(lambda: established_listener(port), 10, "SIPp to listen on TCP")
        call = alice.make_call(f"sip:service@127.0.0.1:{port};transport=tcp", cb=out)
        wait_for(lambda: out.reached("CONFIRMED"), 15, "SIPp (TCP only) to answer")
        assert ";transport=tcp" in call.info(refresh=True).contact.lower()
        call.hangup()
        wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
        assert out.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
        assert uas.wait(15) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-2000:]
    finally:
        stop(uas)


def established_listener(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_transport_errors(lib: Lib) -> None:
    """A fleet of UDP-only agents: a TCP account or call has nowhere to go, clearly."""
    assert {t.type for t in lib.transports()} == {"udp"}
    with pytest.raises(Error) as exc:
        lib.request("acc.create", {"uri": "sip:x@127.0.0.1", "transport": "tcp"})
    assert exc.value.err_code == "E_NOT_FOUND" and "TCP" in exc.value.err_msg
    with pytest.raises(Error) as exc:
        lib.request("acc.create", {"uri": "sip:x@127.0.0.1", "transport": "sctp"})
    assert exc.value.err_code == "E_BAD_ARGS"
    with pytest.raises(Error) as exc:
        lib.create_account_for_transport(Transport("no-such-agent", "udp", "127.0.0.1", 5060))
    assert exc.value.err_code == "E_NOT_FOUND"
    alice = lib.create_account("sip:alice@127.0.0.1")
    with pytest.raises(Error) as exc:  # PJSIP has no TCP transport to send it with
        alice.make_call("sip:bob@127.0.0.1:5999;transport=tcp")
    assert exc.value.err_code == "E_PJSIP" and exc.value.status != 0
    # nothing was lost: the fleet still calls over UDP
    bobs = Answerer(codes=(200,))
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bobs)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "a UDP call after the errors")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
    # the callee's leg ends a moment after the caller's DISCONNECTED reaches this client
    wait_for(lambda: lib.status()["calls"] == 0, 10, "both legs to be gone")


@pytest.mark.parametrize("args, needle", [
    (["--transports", "udp,tls"], "--tls-cert and --tls-key"),
    (["--transports", "udp,sctp"], "unknown transport sctp"),
    (["--transports", "tls", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key"],
     "cannot open SIP TLS"),
])
def test_agent_refuses_bad_transport_options(args: list[str], needle: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "agent", "--coordinator", "tcp://127.0.0.1:9",
                           "--name", "bad-transport", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
