"""Drive the coordinator with raw pyzmq + msgpack, following only proto/PROTOCOL.md: no
callfleet client, no `proto` module. Accounts, a call, its events in order, hang-up, event
subscriptions with filters and snapshots, the PUB firehose, and an agent's loss."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
import zmq

from tests.interop.conftest import Fleet

Event = dict[str, Any]


class Peer:
    """One client connection: a DEALER with its own routing id, one msgpack map per frame."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], url: str, name: str) -> None:
        self.name = f"{name}-{secrets.token_hex(3)}"
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.ROUTING_ID, self.name.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(url)
        self.events: list[Event] = []  # every event received, in order
        self._n = 0

    def _recv(self, deadline: float) -> dict[str, Any]:
        left = deadline - time.monotonic()
        if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
            raise AssertionError(f"{self.name}: nothing received in time")
        msg: dict[str, Any] = msgpack.unpackb(self.sock.recv(), raw=False)
        assert msg["v"] == 1, msg
        return msg

    def request(self, op: str, args: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a request; return its reply. Events that arrive first are kept in ``events``."""
        self._n += 1
        rid = f"r{self._n}"
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": rid, "op": op, "args": args}))
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(deadline)
            if msg["kind"] == "rep" and msg["id"] == rid:
                assert msg["op"] == op, msg
                return msg
            assert msg["kind"] == "evt", f"{self.name}: unexpected {msg}"
            self.events.append(msg)

    def ok(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        rep = self.request(op, args)
        assert rep["ok"] is True, rep
        result: dict[str, Any] = rep["result"]
        return result

    def error(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        rep = self.request(op, args)
        assert rep["ok"] is False and set(rep["error"]) == {"code", "status", "obj", "op", "msg"}
        err: dict[str, Any] = rep["error"]
        return err

    def wait(self, pred: Callable[[list[Event]], bool], what: str, timeout: float = 10.0) -> None:
        """Receive events until ``pred(events)`` holds."""
        deadline = time.monotonic() + timeout
        while not pred(self.events):
            msg = self._recv(deadline)
            assert msg["kind"] == "evt", f"{self.name}: unexpected {msg} while waiting for {what}"
            self.events.append(msg)

    def barrier(self) -> list[Event]:
        """Every event sent to this connection before now: a reply follows every event the
        coordinator sent on the connection before it handled the request (PROTOCOL.md 8)."""
        self.ok("lib.status", {})
        return self.events


class Firehose:
    """A SUB socket on the PUB endpoint: [topic, message] pairs."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], url: str, prefix: bytes) -> None:
        self.sock = ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, prefix)
        monitor = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.sock.connect(url)
        # the subscription goes out right after the handshake; the test's next requests (several
        # round trips through agents) give it ample time to reach the PUB socket
        assert monitor.poll(5000), "the SUB socket did not connect"
        self.sock.disable_monitor()
        monitor.close(0)
        self.events: list[Event] = []
        self.topics: list[str] = []

    def wait(self, pred: Callable[[list[Event]], bool], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not pred(self.events):
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000) + 1):
                raise AssertionError(f"firehose: timed out waiting for {what}")
            topic, frame = self.sock.recv_multipart()
            self.topics.append(topic.decode())
            self.events.append(msgpack.unpackb(frame, raw=False))


@pytest.fixture
def ctx() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


def about(events: list[Event], obj: str, op: str = "") -> list[Event]:
    return [e for e in events if e["obj"] == obj and (not op or e["op"] == op)]


def states(events: list[Event], obj: str) -> list[str]:
    return [e["data"]["state"] for e in about(events, obj, "call.state")]


def ended(events: list[Event], obj: str) -> bool:
    return "DISCONNECTED" in states(events, obj)


def key(e: Event) -> tuple[str, str, int]:
    return (e["op"], e["obj"], e["seq"])


def test_call_subscriptions_and_firehose(fleet: Fleet, ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    url = fleet.clients_url
    driver = Peer(ctx, url, "driver")
    alice_states = Peer(ctx, url, "alice-states")  # include: alice's call.state events
    no_media = Peer(ctx, url, "no-media")  # everything but call.media_state
    late = Peer(ctx, url, "late")  # subscribes mid-call
    hose = Firehose(ctx, fleet.events_url, b"evt.")

    # -- subscriptions made before any object exists: empty snapshots -------------------------
    got = alice_states.ok("events.subscribe", {"sub": "w1", "include": {
        "accounts": ["alice"], "events": ["call.state"]}})
    assert got == {"sub": "w1", "accounts": [], "calls": [], "truncated": False}
    got = no_media.ok("events.subscribe", {"exclude": {"events": ["call.media_state"]},
                                            "snapshot": False})
    assert got["sub"] and got["accounts"] == [] and got["calls"] == []

    # -- malformed subscriptions are refused with E_BAD_ARGS ----------------------------------
    malformed: list[dict[str, Any]] = [
        {"include": {"bogus": ["x"]}}, {"include": "call."}, {"include": {"events": []}},
        {"exclude": {"accounts": [1]}}, {"include": {}, "extra": 1}]
    for bad in malformed:
        assert no_media.error("events.subscribe", bad)["code"] == "E_BAD_ARGS", bad
    err = no_media.error("events.unsubscribe", {"sub": "nope"})
    assert (err["code"], err["obj"], err["op"]) == ("E_NOT_FOUND", "nope", "events.unsubscribe")

    # -- two accounts, bob answers by himself -------------------------------------------------
    alice = driver.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = driver.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200})
    assert alice["acc"] == "alice" and bob["acc"] == "bob" and alice["agent"] != bob["agent"]
    assert bob["contact"].startswith("sip:bob@127.0.0.1:")

    # -- alice calls bob: the reply comes before any event about the call ---------------------
    made = driver.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "c1"})
    assert made == {"call": "c1", "agent": alice["agent"]}
    assert about(driver.events, "c1") == []
    driver.wait(lambda ev: any(e["op"] == "acc.incoming_call" for e in ev), "the incoming call")
    incoming = next(e for e in driver.events if e["op"] == "acc.incoming_call")
    leg = incoming["data"]["call"]
    assert incoming["obj"] == "bob" and incoming["data"]["agent"] == bob["agent"]
    driver.wait(lambda ev: "CONFIRMED" in states(ev, "c1") and "CONFIRMED" in states(ev, leg)
                and bool(about(ev, "c1", "call.media_state")), "both legs CONFIRMED")

    # -- a late subscriber gets the state of both calls in its snapshot -----------------------
    snap = late.ok("events.subscribe", {"sub": "late"})
    assert snap["sub"] == "late" and snap["truncated"] is False
    accounts = {a["acc"]: a for a in snap["accounts"]}
    assert set(accounts) == {"alice", "bob"}
    assert accounts["bob"]["contact"] == bob["contact"] and accounts["bob"]["auto_answer"] == 200
    assert accounts["alice"]["agent"] == alice["agent"] and accounts["alice"]["auto_answer"] == 0
    calls = {c["call"]: c for c in snap["calls"]}
    assert set(calls) == {"c1", leg}
    assert calls["c1"]["state"] == "CONFIRMED" and calls["c1"]["acc"] == "alice"
    assert calls["c1"]["role"] == "caller" and calls["c1"]["media"] == "ACTIVE"
    assert calls[leg]["state"] == "CONFIRMED" and calls[leg]["role"] == "callee"
    assert calls[leg]["acc"] == "bob" and calls[leg]["agent"] == bob["agent"]
    for gid in ("c1", leg):  # seq: the last event the coordinator forwarded about the call
        assert calls[gid]["seq"] == max(e["seq"] for e in about(driver.events, gid))

    # -- alice hangs up: the reply first, then both legs end ----------------------------------
    assert driver.ok("call.hangup", {"call": "c1"}) == {}
    driver.wait(lambda ev: ended(ev, "c1") and ended(ev, leg), "both legs DISCONNECTED")
    assert states(driver.events, "c1") == ["CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert states(driver.events, leg) == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    for gid in ("c1", leg):  # per-object sequence numbers: 1, 2, 3, ... without a gap
        assert [e["seq"] for e in about(driver.events, gid)] == list(
            range(1, len(about(driver.events, gid)) + 1))
    assert driver.events.index(incoming) < driver.events.index(about(driver.events, leg)[0])
    assert about(driver.events, "c1", "call.media_state")[0]["data"] == {"media": "ACTIVE",
                                                                         "dir": "sendrecv"}

    # -- each subscriber got exactly what its filters select, in the same order ---------------
    seen = alice_states.barrier()
    assert [key(e) for e in seen] == [key(e) for e in about(driver.events, "c1", "call.state")]
    assert seen == about(driver.events, "c1", "call.state")  # the same frames, unchanged
    seen = no_media.barrier()
    assert [key(e) for e in seen] == [key(e) for e in driver.events if e["op"] != "call.media_state"]
    seen = late.barrier()  # only what came after its snapshot
    assert [key(e) for e in seen] == [key(e) for e in driver.events
                                      if e["obj"] in calls and e["seq"] > calls[e["obj"]]["seq"]]
    assert {e["obj"] for e in seen} == {"c1", leg} and all(
        e["data"]["state"] == "DISCONNECTED" for e in seen)

    # -- the firehose had every event, each with its topic frame ------------------------------
    hose.wait(lambda ev: len(ev) >= len(driver.events), "the firehose to catch up")
    assert hose.topics == [f"evt.{e['op']}.{e['obj']}" for e in hose.events]
    assert sorted(map(key, hose.events)) == sorted(map(key, driver.events))

    # -- unsubscribed: no more events ---------------------------------------------------------
    assert alice_states.ok("events.unsubscribe", {}) == {"removed": 1}
    assert late.ok("events.unsubscribe", {"sub": "late"}) == {"removed": 1}
    before = len(driver.events)
    driver.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "c2"})
    driver.wait(lambda ev: "CONFIRMED" in states(ev, "c2")
                and any(e["op"] == "acc.incoming_call" for e in ev[before:]), "the second call up")
    leg2 = next(e for e in driver.events[before:] if e["op"] == "acc.incoming_call")["data"]["call"]
    driver.ok("call.hangup", {"call": "c2"})
    driver.wait(lambda ev: ended(ev, "c2") and ended(ev, leg2), "the second call's legs ended")
    assert len(alice_states.barrier()) == len(about(driver.events, "c1", "call.state"))
    assert len(late.barrier()) == 2
    assert about(no_media.barrier(), "c2")  # still subscribed

    assert driver.ok("acc.delete", {"acc": "alice"}) == {}
    assert driver.ok("acc.delete", {"acc": "bob"}) == {}
    assert driver.ok("lib.status", {})["calls"] == 0


def test_agent_loss_reaches_subscribers_and_firehose(fleet: Fleet,
                                                     ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    driver = Peer(ctx, fleet.clients_url, "driver")
    watcher = Peer(ctx, fleet.clients_url, "watcher")
    hose = Firehose(ctx, fleet.events_url, b"evt.call.state.")
    watcher.ok("events.subscribe", {"include": {"events": ["call.state"]}})
    driver.ok("acc.create", {"uri": "sip:alice@127.0.0.1", "acc": "alice"})
    bob = driver.ok("acc.create", {"uri": "sip:bob@127.0.0.1", "acc": "bob", "auto_answer": 200})
    driver.ok("call.make", {"acc": "alice", "uri": bob["contact"], "call": "c1"})
    watcher.wait(lambda ev: sum(e["data"]["state"] == "CONFIRMED" for e in ev) == 2,
                 "both legs CONFIRMED")
    leg = next(e["obj"] for e in watcher.events if e["data"]["role"] == "callee")
    last_seq = max(e["seq"] for e in about(watcher.events, leg))

    agents = {a["name"]: a for a in driver.ok("lib.agents", {})["agents"]}
    fleet.kill_agent(agents[bob["agent"]]["pid"])

    # the coordinator ends the lost agent's call itself (after 3 missed heartbeats)
    watcher.wait(lambda ev: ended(ev, leg), "worker_lost on the subscription", timeout=15)
    lost = about(watcher.events, leg)[-1]
    assert lost["data"]["reason"] == "worker_lost" and lost["data"]["agent"] == bob["agent"]
    assert lost["seq"] == last_seq + 1
    hose.wait(lambda ev: ended(ev, leg), "worker_lost on the firehose")
    assert about(hose.events, leg)[-1] == lost
    assert hose.topics[-1] == f"evt.call.state.{leg}"
    driver.wait(lambda ev: ended(ev, leg), "worker_lost at the owner")
    assert about(driver.events, leg)[-1] == lost

    driver.ok("call.hangup", {"call": "c1"})
    watcher.wait(lambda ev: ended(ev, "c1"), "alice's leg DISCONNECTED")
    assert [a["name"] for a in driver.ok("lib.agents", {})["agents"]] == [
        n for n in agents if n != bob["agent"]]


def test_load_run_started_watched_and_stopped(fleet: Fleet, ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    """load.start, load.progress events each second, load.status, load.set_rate, load.stop and
    the final load.done report, all as raw msgpack maps."""
    peer = Peer(ctx, fleet.clients_url, "loader")
    try:
        started = peer.ok("load.start", {"rate": 4.0, "duration": 60.0, "hold": "0.2",
                                         "self": True, "run": "raw-run-1"})
        assert started["run"] == "raw-run-1" and started["agents"]
        peer.wait(lambda ev: len(about(ev, "raw-run-1", "load.progress")) >= 2, "2 progress events")
        progress = about(peer.events, "raw-run-1", "load.progress")
        assert [e["seq"] for e in progress] == sorted(e["seq"] for e in progress)
        assert progress[-1]["data"]["target_rate"] == 4.0
        status = peer.ok("load.status", {"run": "raw-run-1"})["progress"]
        assert status["started"] >= 1
        peer.ok("load.set_rate", {"run": "raw-run-1", "rate": 6.0})
        assert peer.error("load.set_rate", {"run": "no-such-run", "rate": 1.0})["code"] == "E_NOT_FOUND"
        peer.ok("load.stop", {"run": "raw-run-1"})
        peer.wait(lambda ev: bool(about(ev, "raw-run-1", "load.done")), "load.done", timeout=15)
        report = about(peer.events, "raw-run-1", "load.done")[0]["data"]["report"]
        assert report["stopped"] is True and report["attempted"] >= 1
        assert report["answered"] + report["failed"] <= report["attempted"]
        assert peer.error("load.status", {"run": "raw-run-1"})["code"] == "E_NOT_FOUND"
    finally:
        peer.sock.close(0)
