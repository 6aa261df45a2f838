"""coordinator.server.recovery: accounts of a lost agent get a new home. A real Coordinator on loopback
with fake agents (DEALER sockets that say hello and answer by hand); no agent process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import zmq

import proto
from coordinator.server.coordinator import Coordinator
from coordinator.server.objects import AccountRec

OPEN: list[zmq.Socket[bytes]] = []


class FakeAgent:
    def __init__(self, co: Coordinator, name: str) -> None:
        self.name = name
        self.sock = co.sockets.ctx.socket(zmq.DEALER)
        OPEN.append(self.sock)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, f"{name}/1".encode())
        self.sock.connect(co.endpoints()["agents"])
        self.sock.send(proto.encode(proto.req("agent.hello", {
            "name": name, "host": "h", "pid": 1, "sip": [f"udp:127.0.0.1:{5060 + len(name)}"],
            "capacity": 4, "pjsip": "2.15.1", "calls": 0, "accounts": 0}, "hello-1")))
        for _ in range(50):
            co.turn(20)
            if name in co.registry.by_name:
                break
        assert co.registry.by_name[name].ready

    def requests(self, co: Coordinator) -> list[proto.Message]:
        """What the coordinator sent this agent (heartbeats and replies left out)."""
        co.turn(0)
        out = []
        while self.sock.poll(100):
            msg = proto.decode(self.sock.recv())
            if msg.kind == "req":
                out.append(msg)
        return out

    def answer(self, co: Coordinator, request: proto.Message, ok: bool = True) -> None:
        rep = proto.ok(request, {"acc": request.args.get("acc"), "agent": self.name}) if ok else \
            proto.error(request, proto.ProtoError("E_NO_CAPACITY", "full"))
        self.sock.send(proto.encode(rep))
        for _ in range(20):
            co.turn(10)
            if request.id not in co.pipeline.pending:
                return


@pytest.fixture
def co() -> Iterator[Coordinator]:
    c = Coordinator("tcp://127.0.0.1:*", "tcp://127.0.0.1:*")
    yield c
    while OPEN:  # the context ends only once every socket is closed
        OPEN.pop().close(0)
    c.close()


@pytest.fixture
def moved(co: Coordinator, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """acc.moved events as the owner would get them."""
    got: list[dict[str, Any]] = []

    def capture(client: bytes, frame: bytes) -> None:
        msg = proto.decode(frame)
        got.append({"obj": msg.obj, "seq": msg.seq, **msg.data})

    monkeypatch.setattr(co.events, "send_frame", capture)
    return got


def _account(co: Coordinator, gid: str, home: str, replicas: set[str],
             sip: dict[str, Any] | None = None) -> AccountRec:
    acc = AccountRec(gid, b"owner", f"sip:{gid}@127.0.0.1", 200, home, frozenset(replicas))
    if sip:
        acc.sip = sip
    co.objects.add_account(acc)  # the accounts each agent holds follow from it
    return acc


def _lose(co: Coordinator, name: str) -> None:
    rec = co.registry.by_name[name]
    rec.alive = False
    co.registry.by_rid.pop(rec.rid, None)
    co.lifecycle.on_agent_lost(co, rec)


def test_a_live_replica_becomes_the_home_at_once(co: Coordinator, moved: list[dict[str, Any]]) -> None:
    FakeAgent(co, "a")
    b = FakeAgent(co, "b")
    acc = _account(co, "bob", "a", {"a", "b"})
    _lose(co, "a")
    assert acc.home == "b" and acc.replicas == {"b"}
    assert moved == [{"obj": "bob", "seq": 1, "agent": "b", "from": "a", "reason": "worker_lost",
                      "contact": "sip:bob@127.0.0.1:5061"}]
    assert not co.recovery.homeless and b.requests(co) == []


def test_without_a_replica_the_account_is_created_on_the_least_loaded_agent(
        co: Coordinator, moved: list[dict[str, Any]]) -> None:
    agents = [FakeAgent(co, n) for n in ("a", "b", "c")]
    _account(co, "x", "b", {"b"})  # b holds one account already: c is chosen
    acc = _account(co, "bob", "a", {"a"})
    _lose(co, "a")
    (create,) = agents[2].requests(co)
    # the agent also keeps the owner and that it is the home (for a restarted coordinator)
    assert create.op == "acc.create" and create.args == {"acc": "bob", "uri": acc.uri,
                                                           "auto_answer": 200, "home": True,
                                                           "owner": acc.owner.hex()}
    assert co.objects.accounts_at("c") == 1 and acc.home == "a" and not moved
    agents[2].answer(co, create)
    assert acc.home == "c" and acc.replicas == {"c"} and moved[0]["agent"] == "c"


def test_an_account_waits_homeless_until_an_agent_has_room(co: Coordinator,
                                                           moved: list[dict[str, Any]]) -> None:
    FakeAgent(co, "a")
    b = FakeAgent(co, "b")
    co.registry.by_name["b"].max_accounts = 0
    acc = _account(co, "bob", "a", {"a"})
    _lose(co, "a")
    assert co.recovery.homeless == {"bob": "worker_lost"} and b.requests(co) == []
    co.registry.by_name["b"].max_accounts = 8
    co.recovery.tick(co, co.clock() + 5)
    (create,) = b.requests(co)
    b.answer(co, create)
    assert acc.home == "b" and not co.recovery.homeless and len(moved) == 1


def test_an_account_deleted_while_it_moves_is_deleted_where_it_landed(
        co: Coordinator, moved: list[dict[str, Any]]) -> None:
    FakeAgent(co, "a")
    b = FakeAgent(co, "b")
    _account(co, "bob", "a", {"a"})
    _lose(co, "a")
    (create,) = b.requests(co)
    co.objects.drop_account("bob")  # acc.delete meanwhile
    b.answer(co, create)
    (undo,) = b.requests(co)
    assert undo.op == "acc.delete" and undo.args == {"acc": "bob"}
    assert not moved and co.objects.accounts_at("b") == 0 and not co.recovery.homeless


def test_a_registering_account_is_created_afresh_not_promoted(co: Coordinator,
                                                              moved: list[dict[str, Any]]) -> None:
    FakeAgent(co, "a")
    b, c = FakeAgent(co, "b"), FakeAgent(co, "c")
    acc = _account(co, "bob", "a", {"a", "b"}, sip={"registrar": "sip:127.0.0.1:5090",
                                                    "username": "bob", "password": "pw"})
    _lose(co, "a")
    assert b.requests(co) == []  # b's replica does not register: not a home
    (create,) = c.requests(co)
    assert create.args["registrar"] == "sip:127.0.0.1:5090" and create.args["password"] == "pw"
    c.answer(co, create)
    assert acc.home == "c" and acc.replicas == {"b", "c"}
