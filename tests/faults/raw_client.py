"""A client speaking msgpack over its own DEALER, with a routing id (and a life) of its choosing:
what the lease and reconnection tests need to act as any client written from PROTOCOL.md."""

from __future__ import annotations

import time
from typing import Any

import msgpack
import zmq


class RawClient:
    """One life of a client speaking msgpack over its own DEALER, with a chosen routing id."""

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], url: str, rid: bytes,
                 life: str = "") -> None:
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.ROUTING_ID, rid)
        self.sock.connect(url)
        self.life = life

    def ask(self, op: str, args: dict[str, Any], rid: str) -> tuple[dict[str, Any], bytes]:
        """Send a request and wait for its reply (events are skipped)."""
        msg: dict[str, Any] = {"v": 1, "kind": "req", "id": rid, "op": op, "args": args}
        if self.life:
            msg["life"] = self.life
        self.sock.send(msgpack.packb(msg))
        deadline = time.monotonic() + 5
        while (left := deadline - time.monotonic()) > 0 and self.sock.poll(int(left * 1000) + 1):
            frame = self.sock.recv()
            reply: dict[str, Any] = msgpack.unpackb(frame, raw=False)
            if reply["kind"] == "rep" and reply["id"] == rid:
                return reply, frame
        raise AssertionError(f"no reply to {op} {rid} in 5 s")

    def close(self) -> None:
        self.sock.close(0)
