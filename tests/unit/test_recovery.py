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
    def __init__(self, server: Coordinator, name: str) -> None:
        self.name = name
        self.sock = server.sockets.ctx.socket(zmq.DEALER)
        OPEN.append(self.sock)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, f"{name}/1".encode())
        self.sock.connect(server.endpoints()["agents"])
        self.sock.send(proto.encode(proto.req("agent.hello", {
            "name": name, "host": "h", "pid": 1, "sip": [f"udp:127.0.0.1:{5060 + len(name)}"],
            "capacity": 4, "pjsip": "2.15.1", "calls": 0, "accounts": 0}, "hello-1")))
        for _ in range(50):
            server.turn(20)
            if name in server.registry.by_name:
                break
        assert server.registry.by_name[name].ready

    def requests(self, server: Coordinator) -> list[proto.Message]:
        """What the coordinator sent this agent (heartbeats and replies left out)."""
        server.turn(0)
        out = []
        while self.sock.poll(100):
            msg = proto.decode(self.sock.recv())
            if msg.kind == "req":
                out.append(msg)
        return out

    def answer(self, server: Coordinator, request: proto.Message, ok: bool = True) -> None:
        rep = proto.ok(request, {"acc": request.args.get("acc"), "agent": self.name}) if ok else \
            proto.error(request, proto.ProtoError("E_NO_CAPACITY", "full"))
        self.sock.send(proto.encode(rep))
        for _ in range(20):
            server.turn(10)
            if request.id not in server.pipeline.pending:
                return


@pytest.fixture
def server() -> Iterator[Coordinator]:
    c = Coordinator("tcp://127.0.0.1:*", "tcp://127.0.0.1:*")
    yield c
    while OPEN:  # the context ends only once every socket is closed
        OPEN.pop().close(0)
    c.close()


@pytest.fixture
def moved(server: Coordinator, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """acc.moved events as the owner would get them."""
    got: list[dict[str, Any]] = []

    def capture(client: bytes, frame: bytes) -> None:
        msg = proto.decode(frame)
        got.append({"obj": msg.obj, "seq": msg.seq, **msg.data})

    monkeypatch.setattr(server.events, "send_frame", capture)
    return got


def _account(server: Coordinator, gid: str, home: str, replicas: set[str],
             sip: dict[str, Any] | None = None) -> AccountRec:
    acc = AccountRec(gid, b"owner", f"sip:{gid}@127.0.0.1", 200, home, frozenset(replicas))
    if sip:
        acc.sip = sip
    server.objects.add_account(acc)  # the accounts each agent holds follow from it
    return acc


def _lose(server: Coordinator, name: str) -> None:
    rec = server.registry.by_name[name]
    rec.alive = False
    server.registry.by_rid.pop(rec.rid, None)
    server.lifecycle.on_agent_lost(server, rec)


def test_a_live_replica_becomes_the_home_at_once(server: Coordinator, moved: list[dict[str, Any]]) -> None:
    FakeAgent(server, "a")
    b = FakeAgent(server, "b")
    acc = _account(server, "bob", "a", {"a", "b"})
    _lose(server, "a")
    assert acc.home == "b" and acc.replicas == {"b"}
    assert moved == [{"obj": "bob", "seq": 1, "agent": "b", "from": "a", "reason": "worker_lost",
                      "contact": "sip:bob@127.0.0.1:5061"}]
    assert not server.recovery.homeless and b.requests(server) == []


def test_without_a_replica_the_account_is_created_on_the_least_loaded_agent(
        server: Coordinator, moved: list[dict[str, Any]]) -> None:
    agents = [FakeAgent(server, n) for n in ("a", "b", "c")]
    _account(server, "x", "b", {"b"})  # b holds one account already: c is chosen
    acc = _account(server, "bob", "a", {"a"})
    _lose(server, "a")
    (create,) = agents[2].requests(server)
    # the agent also keeps the owner and that it is the home (for a restarted coordinator)
    assert create.op == "acc.create" and create.args == {"acc": "bob", "uri": acc.uri,
                                                           "auto_answer": 200, "home": True,
                                                           "owner": acc.owner.hex()}
    assert server.objects.accounts_at("c") == 1 and acc.home == "a" and not moved
    agents[2].answer(server, create)
    assert acc.home == "c" and acc.replicas == {"c"} and moved[0]["agent"] == "c"


def test_an_account_waits_homeless_until_an_agent_has_room(server: Coordinator,
                                                           moved: list[dict[str, Any]]) -> None:
    FakeAgent(server, "a")
    b = FakeAgent(server, "b")
    server.registry.by_name["b"].max_accounts = 0
    acc = _account(server, "bob", "a", {"a"})
    _lose(server, "a")
    assert server.recovery.homeless == {"bob": "worker_lost"} and b.requests(server) == []
    server.registry.by_name["b"].max_accounts = 8
    server.recovery.tick(server, server.clock() + 5)
    (create,) = b.requests(server)
    b.answer(server, create)
    assert acc.home == "b" and not server.recovery.homeless and len(moved) == 1


def test_an_account_deleted_while_it_moves_is_deleted_where_it_landed(
        server: Coordinator, moved: list[dict[str, Any]]) -> None:
    FakeAgent(server, "a")
    b = FakeAgent(server, "b")
    _account(server, "bob", "a", {"a"})
    _lose(server, "a")
    (create,) = b.requests(server)
    server.objects.drop_account("bob")  # acc.delete meanwhile
    b.answer(server, create)
    (undo,) = b.requests(server)
    assert undo.op == "acc.delete" and undo.args == {"acc": "bob"}
    assert not moved and server.objects.accounts_at("b") == 0 and not server.recovery.homeless


def test_a_registering_account_is_created_afresh_not_promoted(server: Coordinator,
                                                              moved: list[dict[str, Any]]) -> None:
    FakeAgent(server, "a")
    b, c = FakeAgent(server, "b"), FakeAgent(server, "c")
    acc = _account(server, "bob", "a", {"a", "b"}, sip={"registrar": "sip:127.0.0.1:5090",
                                                        "username": "bob", "password": "pw"})
    _lose(server, "a")
    assert b.requests(server) == []  # b's replica does not register: not a home
    (create,) = c.requests(server)
    assert create.args["registrar"] == "sip:127.0.0.1:5090" and create.args["password"] == "pw"
    c.answer(server, create)
    assert acc.home == "c" and acc.replicas == {"b", "c"}
