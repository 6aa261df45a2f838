"""A request sent again with the same id (a client that lost the reply and retries) gets the
first reply and is never executed twice: no second account, no second call."""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import zmq

from tests.faults.conftest import FaultFleet
from tests.helpers import wait_for


class Raw:
    """A client connection that speaks msgpack directly and keeps every frame it receives."""

    def __init__(self, url: str) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, f"retry-{secrets.token_hex(3)}".encode())
        self.sock.connect(url)
        self.replies: list[tuple[dict[str, Any], bytes]] = []
        self.events: list[dict[str, Any]] = []

    def send(self, op: str, args: dict[str, Any], rid: str) -> None:
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": rid, "op": op, "args": args}))

    def _pump(self) -> None:
        while self.sock.poll(0):
            frame = self.sock.recv()
            msg = msgpack.unpackb(frame, raw=False)
            (self.replies.append((msg, frame)) if msg["kind"] == "rep" else self.events.append(msg))

    def replies_to(self, rid: str) -> list[tuple[dict[str, Any], bytes]]:
        self._pump()
        return [(m, f) for m, f in self.replies if m["id"] == rid]

    def reply(self, rid: str, n: int = 1) -> tuple[dict[str, Any], bytes]:
        """Wait for the ``n``-th reply to ``rid``."""
        wait_for(lambda: len(self.replies_to(rid)) >= n, 10, f"reply {n} to {rid}")
        return self.replies_to(rid)[n - 1]

    def barrier(self) -> dict[str, Any]:
        """lib.status: its reply follows everything the coordinator sent before it."""
        rid = f"barrier-{time.monotonic_ns()}"
        self.send("lib.status", {}, rid)
        result: dict[str, Any] = self.reply(rid)[0]["result"]
        return result

    def incoming(self) -> list[dict[str, Any]]:
        self._pump()
        return [e for e in self.events if e["op"] == "acc.incoming_call"]

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


@pytest.fixture
def raw(fleet2: FaultFleet) -> Iterator[Raw]:
    r = Raw(fleet2.lib.url)
    yield r
    r.close()


def test_a_retried_request_id_gets_the_first_reply_and_no_second_call(fleet2: FaultFleet,
                                                                       raw: Raw) -> None:
    # acc.create without a pre-chosen id: only the request id makes the retry recognisable
    raw.send("acc.create", {"uri": "sip:bob@127.0.0.1", "auto_answer": 200}, "r-bob")
    bob, first = raw.reply("r-bob")
    raw.send("acc.create", {"uri": "sip:bob@127.0.0.1", "auto_answer": 200}, "r-bob")
    assert raw.reply("r-bob", 2)[1] == first, "the retry gets the first reply, byte for byte"
    raw.send("acc.create", {"uri": "sip:alice@127.0.0.1"}, "r-alice")
    alice = raw.reply("r-alice")[0]["result"]
    assert raw.barrier()["accounts"] == 2

    # call.make sent twice while alice's agent is paused (well inside the liveness limit): the
    # retry surely reaches the coordinator while the first copy waits at the agent
    make = {"acc": alice["acc"], "uri": bob["result"]["contact"]}
    fleet2.signal(alice["agent"], signal.SIGSTOP)
    try:
        raw.send("call.make", make, "r-call")
        raw.send("call.make", make, "r-call")
        raw.barrier()  # the coordinator has read both copies (the status reply follows them)
    finally:
        fleet2.signal(alice["agent"], signal.SIGCONT)
    made, made_frame = raw.reply("r-call")
    assert made["ok"], made
    wait_for(lambda: len(raw.incoming()) >= 1, 10, "bob's agent to get the call")
    status = raw.barrier()
    assert len(raw.replies_to("r-call")) == 1, "the retry in flight got no reply of its own"
    assert status["calls"] == 2, "one call: its two legs"
    # a third copy, after the reply: the first reply again, still one call
    raw.send("call.make", make, "r-call")
    assert raw.reply("r-call", 2)[1] == made_frame
    assert raw.barrier()["calls"] == 2 and len(raw.incoming()) == 1

    # the same id for another request is a new request
    raw.send("call.info", {"call": made["result"]["call"]}, "r-call")
    assert raw.reply("r-call", 3)[0]["op"] == "call.info"

    # hangup retried after the call is gone: the first (successful) reply, not E_NOT_FOUND
    raw.send("call.hangup", {"call": made["result"]["call"]}, "r-hup")
    hup, hup_frame = raw.reply("r-hup")
    assert hup["ok"], hup
    wait_for(lambda: raw.barrier()["calls"] == 0, 10, "the call to end")
    raw.send("call.hangup", {"call": made["result"]["call"]}, "r-hup")
    assert raw.reply("r-hup", 2)[1] == hup_frame

    # read-only ops are executed each time: a status retried later is fresh
    raw.send("lib.status", {}, "r-status")
    before = raw.reply("r-status")[0]["result"]["accounts"]
    raw.send("acc.delete", {"acc": alice["acc"]}, "r-del")
    raw.reply("r-del")
    raw.send("lib.status", {}, "r-status")
    assert raw.reply("r-status", 2)[0]["result"]["accounts"] == before - 1
    raw.send("acc.delete", {"acc": bob["result"]["acc"]}, "r-del2")
    raw.reply("r-del2")
