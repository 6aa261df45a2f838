"""Hostile and malformed input on the coordinator's sockets: each gets a clear error (or, for an
oversized frame, a dropped connection), and nothing running is lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import zmq

import proto
from coordinator.client import Lib
from tests.helpers import Recorder, wait_for


@pytest.fixture
def raw(lib: Lib) -> Iterator[zmq.Socket[bytes]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)  # a missing reply fails the test instead of hanging
    sock.connect(lib.url)
    yield sock
    sock.close(0)
    ctx.term()


def _ask(sock: zmq.Socket[bytes], frame: bytes | list[bytes]) -> dict[str, Any]:
    if isinstance(frame, list):
        sock.send_multipart(frame)
    else:
        sock.send(frame)
    reply: dict[str, Any] = msgpack.unpackb(sock.recv(), raw=False)
    return reply


def _req(op: str, args: Any, rid: str = "t1", **extra: Any) -> bytes:
    msg = {"v": 1, "kind": "req", "id": rid, "op": op, "args": args, **extra}
    packed: bytes = msgpack.packb(msg)
    return packed


def _code(reply: dict[str, Any]) -> str:
    assert reply["kind"] == "rep" and reply["ok"] is False, reply
    code: str = reply["error"]["code"]
    return code


CASES: list[tuple[str, bytes | list[bytes], str]] = [
    ("garbage", b"\xc1\xff\x00garbage", "E_BAD_MSG"),
    ("truncated", msgpack.packb({"v": 1, "kind": "req", "id": "x", "op": "lib.status"})[:-4],
     "E_BAD_MSG"),
    ("not a map", msgpack.packb([1, 2, 3]), "E_BAD_MSG"),
    ("wrong version", msgpack.packb({"v": 99, "kind": "req", "id": "x", "op": "lib.status"}),
     "E_BAD_VERSION"),
    ("unknown kind", msgpack.packb({"v": 1, "kind": "zzz", "id": "x", "op": "lib.status"}),
     "E_BAD_MSG"),
    ("id of wrong type", msgpack.packb({"v": 1, "kind": "req", "id": 7, "op": "lib.status"}),
     "E_BAD_MSG"),
    ("deep nesting", _req("lib.status", {"a": [[[[[[[[[[1]]]]]]]]]]}), "E_BAD_MSG"),
    ("huge array", msgpack.packb({"v": 1, "kind": "req", "id": "x", "op": "lib.status",
                                  "args": {"a": list(range(100000))}}), "E_BAD_MSG"),
    ("two frames", [_req("lib.status", {}), b"extra"], "E_BAD_MSG"),
    ("unknown op", _req("call.teleport", {}), "E_UNKNOWN_OP"),
    ("missing field", _req("call.make", {"acc": "a1"}), "E_BAD_ARGS"),
    ("ill-typed field", _req("acc.create", {"uri": "sip:a@127.0.0.1", "auto_answer": "yes"}),
     "E_BAD_ARGS"),
    ("bool for int", _req("acc.create", {"uri": "sip:a@127.0.0.1", "auto_answer": True}),
     "E_BAD_ARGS"),
    ("code out of range", _req("call.hangup", {"call": "c1", "code": 99}), "E_BAD_ARGS"),
    ("unknown argument", _req("lib.status", {"verbose": True}), "E_BAD_ARGS"),
    ("args not a map", _req("lib.status", [1]), "E_BAD_MSG"),
    ("bad SIP URI", _req("acc.create", {"uri": "http://example.com"}), "E_BAD_ARGS"),
    ("header injection", _req("call.make", {"acc": "a1", "uri": "sip:b@127.0.0.1",
                                            "headers": {"X-A": "1\r\nBYE: x"}}), "E_BAD_ARGS"),
    ("unknown call", _req("call.hangup", {"call": "no-such-call"}), "E_NOT_FOUND"),
    ("unknown account", _req("call.make", {"acc": "no-such-acc", "uri": "sip:b@127.0.0.1"}),
     "E_NOT_FOUND"),
    ("agent-only op", _req("agent.hello", {}), "E_BAD_ARGS"),
]


def test_bad_input_gets_its_error_and_nothing_is_lost(lib: Lib, raw: zmq.Socket[bytes]) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    live = Recorder()
    call = alice.make_call(bob.contact, cb=live)
    wait_for(lambda: live.reached("CONFIRMED"), 10, "a call to be up before the attack")

    for name, frame, code in CASES:
        reply = _ask(raw, frame)
        assert _code(reply) == code, name
        assert reply["error"]["msg"], name
    # the request id is echoed when it could be read
    assert _ask(raw, _req("call.teleport", {}, rid="abc"))["id"] == "abc"
    # an op-level error names the object and op
    err = _ask(raw, _req("call.info", {"call": "ghost"}))["error"]
    assert (err["obj"], err["op"]) == ("ghost", "call.info")

    # the fleet still serves: the live call is intact, a new call works, both agents remain
    assert live.last() == "CONFIRMED"
    assert call.info(refresh=True).state == "CONFIRMED"
    assert len(lib.agents()) == 2
    second = Recorder()
    c2 = alice.make_call(bob.contact, cb=second)
    wait_for(lambda: second.reached("CONFIRMED"), 10, "a new call after the bad input")
    for c, r in ((call, live), (c2, second)):
        c.hangup()
        wait_for(lambda r=r: r.last() == "DISCONNECTED", 10, "call end")  # type: ignore[misc]


def test_oversized_frame_drops_the_connection_only(lib: Lib, raw: zmq.Socket[bytes]) -> None:
    raw.send(b"\x00" * (proto.limits.MAX_FRAME + 1))
    # ZeroMQ closes that connection (MAXMSGSIZE); the DEALER reconnects and is served again
    raw.setsockopt(zmq.RCVTIMEO, 500)
    served = 0
    for _ in range(20):
        raw.send(_req("lib.status", {}, rid="after"))
        try:
            reply = msgpack.unpackb(raw.recv(), raw=False)
        except zmq.Again:
            continue
        if reply.get("id") == "after" and reply.get("ok"):
            served += 1
            break
    assert served == 1
    assert len(lib.agents()) == 2


def test_junk_on_the_agents_socket_is_ignored(lib: Lib) -> None:
    assert lib.fleet is not None
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    fake = ctx.socket(zmq.DEALER)
    fake.setsockopt(zmq.LINGER, 0)
    fake.setsockopt(zmq.RCVTIMEO, 5000)
    fake.connect(lib.fleet.agents_url)
    try:
        fake.send(b"\xc1garbage")
        # an event from an agent that never said hello: told to introduce itself, event dropped
        fake.send(proto.encode(proto.evt("call.state", "c1", 1, {"state": "CONFIRMED"})))
        reply = proto.decode(fake.recv())
        assert reply.kind == "hb" and reply.data["known"] is False
        # a hello with bad fields is refused with E_BAD_ARGS
        fake.send(proto.encode(proto.req("agent.hello", {"name": 5}, "h1")))
        reply = proto.decode(fake.recv())
        assert not reply.ok and reply.error is not None and reply.error["code"] == "E_BAD_ARGS"
        # a hello that takes a live agent's name is refused with E_DUPLICATE
        taken = lib.agents()[0]
        hello = {k: taken[k] for k in ("name", "host", "pid", "sip", "capacity", "pjsip")}
        fake.send(proto.encode(proto.req("agent.hello", hello, "h2")))
        reply = proto.decode(fake.recv())
        assert not reply.ok and reply.error is not None and reply.error["code"] == "E_DUPLICATE"
    finally:
        fake.close(0)
        ctx.term()
    assert sorted(a["name"] for a in lib.agents()) == sorted(
        f"{lib.fleet.tag}-{i}" for i in (1, 2))
    assert lib.status()["calls"] == 0
