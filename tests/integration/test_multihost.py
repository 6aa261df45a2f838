"""Several hosts, simulated with network namespaces on one bridge (tests/netns.py):

    co  10.77.0.1   the coordinator (agents socket on 10.77.0.1, clients socket on its loopback)
    a   10.77.0.2   2 agents, SIP bound to 10.77.0.2
    b   10.77.0.3   2 agents, SIP bound to 0.0.0.0 and advertised as 10.77.0.3 (--public-addr)

Each agent runs as `ip netns exec <host> python -m agent ...` with the port scheme of deploy/
(`--index k --sip-port-base 5060 --rtp-port-base 20000`). The coordinator's liveness limit is
its default for an agents socket off loopback: 5 s.

Faults: a host's switch port set down, or its link left up and every packet (or 40 % of them)
dropped, by a netem qdisc where the kernel has sch_netem, else by an nftables rule on the bridge
(tests/netns.py). A test whose mechanism this kernel lacks is skipped, saying why.

The client: the clients socket is bound to the coordinator host's loopback, as a deployment
would keep it private, so the test's Lib must live in that namespace. Rather than a helper
process that replays the client logic, the test creates its Lib with its thread switched into
the namespace for that one call (setns on the calling thread only, ``netns.inside``): the
ZeroMQ I/O threads and the client's threads are born there and stay there, while callbacks,
recorders and assertions remain ordinary Python objects of this test process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pytest

from coordinator.cli.options import default_lost_after
from coordinator.client import Account, Call, Lib
from proto import limits
from tests import netns
from tests.front import Front, Tally, sipp_stats
from tests.helpers import Answerer, Recorder, wait_for

_WHY_NOT = netns.unavailable()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None,
                                reason=f"multi-host tests need network namespaces: {_WHY_NOT}")

PY = sys.executable
ROOT = Path(__file__).resolve().parents[2]
AGENTS_PER_HOST = 2
AGENTS_URL = f"tcp://{netns.SUBNET}.1:5600"
CLIENTS_URL = "tcp://127.0.0.1:5601"
LOST_AFTER = default_lost_after(AGENTS_URL)


@dataclass
class Fleet:
    hosts: netns.Hosts
    lib: Lib
    coordinator: subprocess.Popen[bytes]
    log: Path
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[BinaryIO] = field(default_factory=list)

    def live(self) -> set[str]:
        return {a["name"] for a in self.lib.agents()}

    def on(self, host: str) -> set[str]:
        return {f"host{host}-{k}" for k in range(1, AGENTS_PER_HOST + 1)}


def _agent_args(hosts: netns.Hosts, host: str) -> list[str]:
    if host == "a":
        return ["--sip-host", hosts.addr("a")]
    return ["--sip-host", "0.0.0.0", "--public-addr", hosts.addr(host)]


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return proc.returncode


@pytest.fixture
def hosts() -> Iterator[netns.Hosts]:
    net = netns.Hosts(f"cf{os.getpid()}", ["co", "a", "b"])
    net.create()
    try:
        yield net
    finally:
        net.destroy()


@pytest.fixture
def fleet(hosts: netns.Hosts, tmp_path: Path) -> Iterator[Fleet]:
    log = tmp_path / "coordinator.log"
    err = open(log, "wb")  # noqa: SIM115 - closed in the teardown below
    co = subprocess.Popen(hosts.run("co", [
        PY, "-m", "coordinator.cli", "coordinator", "--agents-bind", AGENTS_URL,
        "--clients-bind", CLIENTS_URL, "--events-bind", "", "--ready", "--adopt-window", "0",
        "--insecure"]),  # off loopback without keys: the test's own bridge, reached by no one else
        stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    f: Fleet | None = None
    lib: Lib | None = None
    agents: dict[str, subprocess.Popen[bytes]] = {}
    files: list[BinaryIO] = [err]
    try:
        assert co.stdout is not None
        assert co.stdout.readline().startswith(b"READY "), "the coordinator did not start"
        for host in ("a", "b"):
            for k in range(1, AGENTS_PER_HOST + 1):
                name = f"host{host}-{k}"
                out = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
                files.append(out)
                agents[name] = subprocess.Popen(hosts.run(host, [
                    PY, "-m", "agent", "--coordinator", AGENTS_URL, "--name", name,
                    "--index", str(k), "--sip-port-base", "5060", "--rtp-port-base", "20000",
                    *_agent_args(hosts, host)]),
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with netns.inside(hosts.ns("co")):
            lib = Lib(CLIENTS_URL)
        lib.wait_agents(2 * AGENTS_PER_HOST, 30)
        f = Fleet(hosts, lib, co, log, agents, files)
        yield f
    finally:
        if lib is not None:
            lib.destroy()
        for proc in agents.values():  # all at once: each takes ~1 s to hang up and unregister
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {name: _stop(p, 15) for name, p in agents.items()}
        codes["coordinator"] = _stop(co, 10)
        if co.stdout is not None:
            co.stdout.close()
        for file in files:
            file.close()
    assert set(codes.values()) == {0}, codes  # every process exited cleanly (no PJSIP abort)


@dataclass
class User:
    acc: Account
    answer: Answerer


def _users(f: Fleet) -> dict[str, User]:
    """One answering account per agent (placement puts each on the agent with fewest), by agent."""
    users = []
    for i in range(2 * AGENTS_PER_HOST):
        answer = Answerer()
        users.append(User(f.lib.create_account(f"sip:user{i}@callfleet.test", cb=answer), answer))
    by_agent = {u.acc.agent: u for u in users}
    assert set(by_agent) == f.on("a") | f.on("b"), [u.acc.agent for u in users]
    return by_agent


def _wait_state(rec: Recorder, state: str, timeout: float, what: str) -> None:
    """Wait until the call reached ``state`` (a call state, or ACTIVE for its media)."""
    wait_for(lambda: state in rec.media if state == "ACTIVE" else rec.reached(state), timeout, what)


def _call(caller: User, callee: User) -> tuple[Call, Recorder]:
    rec = Recorder()
    call = caller.acc.make_call(callee.acc.contact, cb=rec)
    return call, rec


def _incoming(callee: User, n: int) -> tuple[Call, Recorder]:
    """The callee's n-th incoming call (from 1) and its recorder."""
    wait_for(lambda: len(callee.answer.calls) >= n, 10, f"incoming call {n}")
    return callee.answer.calls[n - 1], callee.answer.recorders[n - 1]


def test_calls_with_rtp_between_hosts(fleet: Fleet) -> None:
    f, hosts = fleet, fleet.hosts
    agents = {a["name"]: a for a in f.lib.agents()}
    # each agent advertises its host's address and its own port (deploy/'s port scheme)
    assert {n: a["sip"] for n, a in agents.items()} == {
        f"host{h}-{k}": [f"udp:{hosts.addr(h)}:{5060 + k}"]
        for h in ("a", "b") for k in range(1, AGENTS_PER_HOST + 1)}
    users = _users(f)
    alice, bob = users["hosta-1"], users["hostb-1"]  # a -> b: callee bound to 0.0.0.0
    carol, dave = users["hostb-2"], users["hosta-2"]  # b -> a: caller behind --public-addr
    assert bob.acc.contact.endswith(f"@{hosts.addr('b')}:5061")
    rx_a, rx_b = hosts.udp_in("a"), hosts.udp_in("b")

    ab, ab_rec = _call(alice, bob)
    ba, ba_rec = _call(carol, dave)
    for rec in (ab_rec, ba_rec):
        _wait_state(rec, "CONFIRMED", 15, "the callers to be CONFIRMED")
    bob_call, bob_rec = _incoming(bob, 1)
    dave_call, dave_rec = _incoming(dave, 1)
    for rec in (bob_rec, dave_rec):
        _wait_state(rec, "CONFIRMED", 10, "the callees to be CONFIRMED")
    for rec in (ab_rec, ba_rec, bob_rec, dave_rec):
        _wait_state(rec, "ACTIVE", 10, "media ACTIVE on every leg")
    assert ab_rec.names() == ba_rec.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED"]
    assert bob_rec.names() == dave_rec.names() == ["INCOMING", "EARLY", "CONNECTING", "CONFIRMED"]
    # RTP crosses the bridge both ways: each host receives far more UDP than the few SIP messages
    wait_for(lambda: hosts.udp_in("a") - rx_a >= 30 and hosts.udp_in("b") - rx_b >= 30, 10,
             "RTP packets to arrive on both hosts")

    for call, rec in ((ab, ab_rec), (ba, ba_rec)):
        call.hangup()
        _wait_state(rec, "DISCONNECTED", 10, "the calls to end")
    for rec in (bob_rec, dave_rec):
        _wait_state(rec, "DISCONNECTED", 10, "the far ends to see the BYE")
    assert bob_call.info().last_reason != "worker_lost"
    assert dave_call.info().state == "DISCONNECTED"


def test_a_self_load_run_spreads_over_both_hosts(fleet: Fleet) -> None:
    """A self-answering load run through the coordinator on its own host: each agent calls the
    next one in the ring (hosta-1 -> hosta-2 -> hostb-1 -> hostb-2 -> hosta-1), so calls both
    stay on a host and cross the bridge, with RTP."""
    f, hosts = fleet, fleet.hosts
    rx_a, rx_b = hosts.udp_in("a"), hosts.udp_in("b")
    report = f.lib.run_load({"rate": 8, "calls": 40, "hold": "1", "self": True, "dtmf": "12"},
                            timeout=90)
    assert (report["attempted"], report["answered"], report["incoming"]) == (40, 40, 40), report
    assert report["failed"] == 0 and report["lost_agents"] == [] and report["success"] is True
    assert report["dtmf"]["verified"] == 40
    parts = {p["agent"]: p for p in report["by_agent"]}
    assert set(parts) == set(report["agents"]) == f.on("a") | f.on("b")
    # every agent of both hosts placed calls and answered calls, and the parts add up
    assert all(p["started"] > 0 and p["incoming"] > 0 and p["failed"] == 0
               for p in parts.values()), parts
    assert sum(p["answered"] for p in parts.values()) == report["answered"]
    for host in ("a", "b"):
        mine = [parts[n] for n in f.on(host)]
        assert sum(p["started"] for p in mine) >= 10 and sum(p["incoming"] for p in mine) >= 10
    # a share in proportion to the calling slots: 4 equal agents, 10 calls each
    assert sorted(p["started"] for p in parts.values()) == [10, 10, 10, 10], parts
    # media crossed the bridge both ways: 40 calls of 1 s carry thousands of RTP packets
    assert hosts.udp_in("a") - rx_a > 1000 and hosts.udp_in("b") - rx_b > 1000
    assert f.lib.status()["accounts"] == 0  # the run's accounts are gone


def _cut(hosts: netns.Hosts, host: str, how: str) -> None:
    """Stop every packet to and from ``host``: its link down, or 100 % loss (netem or nft)."""
    if how == "link":
        hosts.cut(host)
    else:
        hosts.lose(host, 100, how)


def _restore(hosts: netns.Hosts, host: str, how: str) -> None:
    if how == "link":
        hosts.restore(host)
    else:
        hosts.unlose(host)


def _skip_unless_loss_works(how: str) -> None:
    why = None if how == "link" else netns.loss_unavailable(how)
    if why is not None:
        pytest.skip(why)


@pytest.mark.parametrize("how", ["link", "netem", "nft"])
def test_a_cut_link_loses_that_hosts_agents_and_calls_until_it_is_restored(fleet: Fleet, how: str
                                                                           ) -> None:
    """The cut: the host's switch port down (``link``), or the link up but every packet lost by
    a netem qdisc (``netem``; skipped where the kernel has no sch_netem) or an nftables rule on
    the bridge (``nft``)."""
    _skip_unless_loss_works(how)
    f, hosts = fleet, fleet.hosts
    users = _users(f)
    ab, ab_rec = _call(users["hosta-1"], users["hostb-1"])
    ba, ba_rec = _call(users["hostb-2"], users["hosta-2"])
    bob_call, bob_rec = _incoming(users["hostb-1"], 1)
    dave_call, dave_rec = _incoming(users["hosta-2"], 1)
    for rec in (ab_rec, ba_rec, bob_rec, dave_rec):
        _wait_state(rec, "CONFIRMED", 15, "4 legs CONFIRMED")

    _cut(hosts, "b", how)
    cut = time.monotonic()
    wait_for(lambda: f.live() == f.on("a"), LOST_AFTER + 2,
             f"the coordinator to declare host b's agents lost within {LOST_AFTER:g} s")
    lost_in = time.monotonic() - cut
    assert lost_in >= LOST_AFTER - 2 * limits.HEARTBEAT_S, f"declared lost after {lost_in:.1f}s"
    # the legs held by host b's agents end with worker_lost: the callee of a->b, the caller of b->a
    for call, rec in ((bob_call, bob_rec), (ba, ba_rec)):
        _wait_state(rec, "DISCONNECTED", 2, "host b's legs to end")
        assert call.info().last_reason == "worker_lost"
        assert rec.names()[-2:] == ["CONFIRMED", "DISCONNECTED"]
    # host a's legs are untouched: their agents are alive (SIP has not noticed the peer is gone)
    assert ab_rec.last() == dave_rec.last() == "CONFIRMED"
    text = f.log.read_text()
    assert "agent hostb-1 lost" in text and "agent hostb-2 lost" in text, text
    assert "hosta-" not in text

    # meanwhile host b's accounts moved to host a (acc.moved): calls to them reach host a
    moved = [users["hostb-1"], users["hostb-2"]]
    wait_for(lambda: all(u.acc.agent in f.on("a") for u in moved), 5, "host b's accounts to move")

    _restore(hosts, "b", how)
    # the agents were never stopped: they say hello again (TCP's retransmission backoff over the
    # cut decides how soon), are told to reset (the coordinator forgot what they held), hang up
    # their stale legs and are re-admitted holding nothing
    wait_for(lambda: f.live() == f.on("a") | f.on("b")
             and all(a["state"] == "ready" for a in f.lib.agents()), 30,
             "host b's agents to be re-admitted")
    agents = {a["name"]: a for a in f.lib.agents()}
    assert all(agents[n]["pid"] == f.agents[n].pid for n in f.on("b")), "the same processes came back"
    assert all(agents[n]["calls"] == 0 and agents[n]["accounts"] == 0 for n in f.on("b"))
    # the reset's BYEs end host a's legs of those calls: nothing is left half up
    for call, rec in ((ab, ab_rec), (dave_call, dave_rec)):
        _wait_state(rec, "DISCONNECTED", 10, "host a's stale legs to end")
        assert call.info().last_reason != "worker_lost"

    # host b serves calls again: new accounts go there (its agents hold the fewest)
    fresh = Answerer()
    carol = User(f.lib.create_account("sip:carol@callfleet.test", cb=fresh), fresh)
    assert carol.acc.agent in f.on("b")
    again, again_rec = _call(users["hosta-1"], carol)
    wait_for(lambda: again_rec.reached("CONFIRMED"), 15, "a new call a -> b after the restore")
    new_call, new_rec = _incoming(carol, 1)
    wait_for(lambda: "ACTIVE" in again_rec.media and "ACTIVE" in new_rec.media, 10, "media")
    # and a moved account takes calls on host a
    to_moved, to_moved_rec = _call(users["hosta-1"], moved[0])
    wait_for(lambda: to_moved_rec.reached("CONFIRMED"), 15, "a call to a moved account")
    for call, rec in ((again, again_rec), (to_moved, to_moved_rec)):
        call.hangup()
        _wait_state(rec, "DISCONNECTED", 10, "the new calls to end")
    wait_for(lambda: new_rec.reached("DISCONNECTED"), 10, "the new call's far end to end")
    assert new_call.info().last_reason != "worker_lost"
    # every leg, lost or not, reached exactly one terminal state
    for rec in (ab_rec, ba_rec, bob_rec, dave_rec, again_rec, new_rec, to_moved_rec):
        assert rec.names().count("DISCONNECTED") == 1, rec.names()


def _whole_for(f: Fleet, seconds: float, timeout: float) -> None:
    """Wait until every agent has been live and ready for ``seconds`` without a break."""
    since: list[float] = []

    def whole() -> bool:
        agents = f.lib.agents()
        ok = ({a["name"] for a in agents} == f.on("a") | f.on("b")
              and all(a["state"] == "ready" for a in agents))
        if not ok:
            since.clear()
        elif not since:
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] >= seconds

    wait_for(whole, timeout, f"the whole fleet ready for {seconds:g} s in a row")


@pytest.mark.parametrize("via", ["netem", "nft"])
def test_heavy_partial_loss_is_ridden_through_or_reported_never_half(fleet: Fleet, via: str
                                                                     ) -> None:
    """40 % of host b's packets lost each way for longer than the liveness limit. TCP may carry
    the heartbeats through (retransmitting) or the coordinator may declare b's agents lost: that
    is up to chance, but whichever happens, the coordinator's view and the calls agree at every
    moment, and once the loss stops the fleet is whole and serves calls to host b again."""
    _skip_unless_loss_works(via)
    f, hosts = fleet, fleet.hosts
    users = _users(f)
    ab, ab_rec = _call(users["hosta-1"], users["hostb-1"])
    bob_call, bob_rec = _incoming(users["hostb-1"], 1)
    for rec in (ab_rec, bob_rec):
        _wait_state(rec, "ACTIVE", 15, "the call a -> b up with media")
    lost_before = ab.stats().rx_loss

    hosts.lose("b", 40, via)
    try:
        # the loss is real: host a's leg counts the RTP from host b that never came
        wait_for(lambda: ab.stats().rx_loss - lost_before >= 25, 10, "RTP lost on the way to a")
        until = time.monotonic() + LOST_AFTER + 2
        while time.monotonic() < until:  # the impairment lasts this long; watch the fleet meanwhile
            live = f.live()
            assert live >= f.on("a"), live  # host a is never affected
            missing = f.on("b") - live
            text = f.log.read_text()
            assert all(f"agent {n} lost" in text for n in missing), (missing, text)
            time.sleep(0.5)
    finally:
        hosts.unlose("b")

    # a heartbeat held up by TCP's backoff since before the loss stopped may still get its agent
    # declared lost just after: wait until the fleet has been whole for the liveness limit
    _whole_for(f, LOST_AFTER + 1, 60)
    text = f.log.read_text()
    if "agent hostb-1 lost" in text:  # the callee's agent was lost: its leg ended, once, as such
        _wait_state(bob_rec, "DISCONNECTED", 5, "the lost leg to end")
        assert bob_call.info().last_reason == "worker_lost"
        _wait_state(ab_rec, "DISCONNECTED", 15, "the reset's BYE to end host a's leg")
        assert ab.info().last_reason != "worker_lost"
    else:  # ridden through: the call is still up on both sides and ends normally
        assert ab_rec.last() == bob_rec.last() == "CONFIRMED"
        ab.hangup()
        for rec in (ab_rec, bob_rec):
            _wait_state(rec, "DISCONNECTED", 10, "the call to end")
        assert bob_call.info().last_reason != "worker_lost"

    on_b = [u for u in users.values() if u.acc.agent in f.on("b")]
    if on_b:
        callee = on_b[0]
    else:  # b's accounts moved to host a; a fresh one goes to b, whose agents hold the fewest
        answer = Answerer()
        callee = User(f.lib.create_account("sip:erin@callfleet.test", cb=answer), answer)
        assert callee.acc.agent in f.on("b")
    again, again_rec = _call(users["hosta-1"], callee)
    wait_for(lambda: again_rec.reached("CONFIRMED") and "ACTIVE" in again_rec.media, 15,
             "a new call a -> b once the loss stopped")
    _, callee_rec = _incoming(callee, len(callee.answer.calls))
    again.hangup()
    for rec in (again_rec, callee_rec):
        _wait_state(rec, "DISCONNECTED", 10, "the new call to end")
    for rec in (ab_rec, bob_rec, again_rec, callee_rec):
        assert rec.names().count("DISCONNECTED") == 1, rec.names()


def _supervisord(hosts: netns.Hosts, host: str, conf: str, env: dict[str, str]
                 ) -> subprocess.Popen[bytes]:
    """supervisord started the README's way: export the host's variables, source the defaults."""
    script = ("set -a; . deploy/callfleet.env; set +a; mkdir -p \"$CALLFLEET_LOG_DIR\"; "
              f"exec \"$CALLFLEET_PYTHON\" -m supervisor.supervisord -n -c deploy/{conf}")
    return subprocess.Popen(hosts.run(host, ["sh", "-c", script]), env={**os.environ, **env},
                            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_the_shipped_configs_run_a_fleet_over_two_hosts(hosts: netns.Hosts, tmp_path: Path) -> None:
    co, b = hosts.addr("co"), hosts.addr("b")
    common = {"CALLFLEET_PYTHON": PY}
    sups = {
        "co": _supervisord(hosts, "co", "coordinator-host.conf", {
            **common, "CALLFLEET_LOG_DIR": str(tmp_path / "co"),
            "CALLFLEET_AGENTS_BIND": f"tcp://{co}:5600", "CALLFLEET_CLIENTS_BIND": f"tcp://{co}:5601",
            "CALLFLEET_EVENTS_BIND": f"tcp://{co}:5602",
            "CALLFLEET_NAME": "host1", "CALLFLEET_SIP_HOST": co, "CALLFLEET_AGENTS": "1",
            "CALLFLEET_INSECURE": "1"}),
        "b": _supervisord(hosts, "b", "agents-host.conf", {
            **common, "CALLFLEET_LOG_DIR": str(tmp_path / "b"),
            "CALLFLEET_COORDINATOR": f"tcp://{co}:5600", "CALLFLEET_CLIENTS": f"tcp://{co}:5601",
            "CALLFLEET_NAME": "host2", "CALLFLEET_SIP_HOST": b, "CALLFLEET_AGENTS": "2"}),
    }
    lib: Lib | None = None
    try:
        with netns.inside(hosts.ns("co")):
            lib = Lib(f"tcp://{co}:5601")
        agents = lib.wait_agents(3, 40)
        assert {a["name"]: a["sip"] for a in agents} == {
            "host1-01": [f"udp:{co}:5071"], "host2-01": [f"udp:{b}:5071"],
            "host2-02": [f"udp:{b}:5072"]}  # deploy/callfleet.env's default SIP_PORT_BASE 5070
        alice_answer, bob_answer = Answerer(), Answerer()
        alice = User(lib.create_account("sip:alice@callfleet.test", cb=alice_answer), alice_answer)
        bob = User(lib.create_account("sip:bob@callfleet.test", cb=bob_answer), bob_answer)
        caller, callee = (alice, bob) if alice.acc.agent == "host1-01" else (bob, alice)
        assert callee.acc.agent.startswith("host2-")
        call, rec = _call(caller, callee)
        wait_for(lambda: rec.reached("CONFIRMED") and "ACTIVE" in rec.media, 15,
                 "a call from the coordinator host to the agents host")
        call.hangup()
        wait_for(lambda: rec.reached("DISCONNECTED"), 10, "the call to end")
    finally:
        if lib is not None:
            lib.destroy()
        codes = {host: _stop(sup, 40) for host, sup in sups.items()}
    assert codes == {"co": 0, "b": 0}, codes
    for host, names in (("co", ["host1-01", "coordinator", "fatal"]),
                        ("b", ["host2-01", "host2-02", "fatal"])):
        log = (tmp_path / host / "supervisord.log").read_text()
        for name in names:
            assert f"stopped: {name} (exit status 0)" in log, log


def test_a_sip_front_on_the_coordinator_host_spreads_calls_over_both_agents_hosts(
        fleet: Fleet, tmp_path: Path) -> None:
    """`callfleet front` on host co, agents on hosts a and b: SIPp (on co) calls the front's
    address; every call is answered, on agents of both hosts, and reports the front's address."""
    f, hosts = fleet, fleet.hosts
    co = hosts.addr("co")
    tally = Tally()
    f.lib.create_account(f"sip:bob@{co}", cb=tally, auto_answer=200, replicas="all")
    front = Front(CLIENTS_URL, tmp_path, 5060, host=co, wrap=lambda argv: hosts.run("co", argv))
    try:
        front.start(agents=2 * AGENTS_PER_HOST)
        uac = subprocess.Popen(hosts.run("co", [
            "sipp", front.hostport, "-sn", "uac", "-s", "bob", "-i", co, "-r", "10", "-m", "40",
            "-d", "500", "-nostdin", "-trace_stat", "-stf", "stats.csv", "-fd", "1",
            "-trace_err", "-timeout", "60", "-timeout_error"]),
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL)
        assert uac.wait(90) == 0
        stats = sipp_stats(tmp_path)
        assert (stats["successful"], stats["failed"]) == (40, 0), stats
        wait_for(lambda: tally.confirmed == 40 and tally.up == 0, 15, "40 calls at the agents")
        assert set(tally.agents) == f.on("a") | f.on("b"), tally.agents
        assert set(tally.called) == {f"sip:bob@{co}:5060"}
    finally:
        front.stop()
