"""The client's connection: one I/O thread owns the DEALER socket; any thread may send.

Callers hand frames to the I/O thread through an inproc PUSH socket guarded by a lock (ZeroMQ
sockets are not thread-safe), and wait on their own reply slot. Events go to a queue that the
callback thread drains.

The connection has a lease at the coordinator (PROTOCOL.md section 10): the I/O thread asks for
it first (``client.lease``), then renews it every third of it by itself, so that a client that
is merely quiet keeps its objects, and one that died loses them a lease later. Every request
carries the connection's ``life``, drawn here: request ids are unique within it.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

import proto
from proto import ProtoError, limits
from proto.curve import ClientKeys

#: frames kept while the coordinator cannot be reached (the oldest are dropped beyond)
BACKLOG = 100000
#: lease renewals per lease period (a renewal lost now and then costs nothing)
RENEWALS = 3

log = logging.getLogger("callfleet.client")


@dataclass
class _Slot:
    done: threading.Event = field(default_factory=threading.Event)
    reply: proto.Message | None = None


class Connection:
    def __init__(self, url: str, events: queue.Queue[proto.Message | None],
                 keys: ClientKeys | None = None, lease: float = limits.LEASE_S,
                 on_lease: Callable[[dict[str, Any]], None] | None = None) -> None:
        """``lease``: seconds the coordinator keeps this client's objects after its last word;
        ``on_lease``: told each lease reply's result (``lease``, ``fresh``), on the I/O thread."""
        if not limits.LEASE_MIN_S <= lease <= limits.LEASE_MAX_S:
            raise ProtoError("E_BAD_ARGS", f"a lease is {limits.LEASE_MIN_S:g} to "
                             f"{limits.LEASE_MAX_S:g} seconds, not {lease!r}")
        self.url = url
        self.keys = keys
        self.events = events
        self.lease = lease
        self.on_lease = on_lease
        self.prefix = secrets.token_hex(4)
        #: this connection's life: the coordinator keeps replies for retries within it only
        self.life = secrets.token_hex(8)
        self._ids = itertools.count(1)
        self._ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._inproc = f"inproc://callfleet-client-{self.prefix}"
        pull = self._ctx.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        pull.bind(self._inproc)
        self._push = self._ctx.socket(zmq.PUSH)
        self._push.setsockopt(zmq.LINGER, 0)
        self._push.connect(self._inproc)
        self._push_lock = threading.Lock()
        self._slots: dict[str, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._io, args=(pull,), name="callfleet-io",
                                        daemon=True)
        self._thread.start()

    def next_id(self, prefix: str) -> str:
        return f"{self.prefix}-{prefix}{next(self._ids)}"

    def request(self, op: str, args: dict[str, Any], timeout: float = 15.0,
                expires: float = 0.0) -> proto.Message:
        """Send one request and wait for its reply (thread-safe). ``expires``: Unix time after
        which the coordinator and the agent refuse it (E_EXPIRED) instead of executing it."""
        rid = self.next_id("r")
        slot = _Slot()
        with self._slots_lock:
            self._slots[rid] = slot
        try:
            frame = proto.encode(proto.req(op, args, rid, expires, self.life))
            with self._push_lock:
                self._push.send(frame)
            if not slot.done.wait(timeout):
                raise ProtoError("E_TIMEOUT", self._silence(op, timeout), op=op)
            assert slot.reply is not None
            return slot.reply
        finally:
            with self._slots_lock:
                self._slots.pop(rid, None)

    def _silence(self, op: str, timeout: float) -> str:
        """What a missing reply most likely means: with CURVE, a refused key completes no
        connection, so nothing comes back at all."""
        if self.keys is not None:
            return (f"no reply to {op} in {timeout:g} s from {self.url}: is the coordinator up, "
                    "is --server-key its public key, and is this client's key on its allow-list?")
        return (f"no reply to {op} in {timeout:g} s from {self.url}: is the coordinator up, and "
                "does it require CURVE keys (--server-key, --key)?")

    def send_raw(self, frame: bytes) -> None:
        with self._push_lock:
            self._push.send(frame)

    def _io(self, pull: zmq.Socket[bytes]) -> None:
        dealer = self._ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.ROUTING_ID, f"client/{self.prefix}".encode())
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
        dealer.setsockopt(zmq.SNDHWM, 100000)
        dealer.setsockopt(zmq.RCVHWM, 100000)
        if self.keys is not None:
            self.keys.apply(dealer)
        dealer.connect(self.url)
        poller = zmq.Poller()
        poller.register(dealer, zmq.POLLIN)
        poller.register(pull, zmq.POLLIN)
        # frames the DEALER cannot take yet: it has no connection (the coordinator is not up, a
        # CURVE handshake is under way or was refused), so a blocking send would never return;
        # the lease is asked for first
        backlog: collections.deque[bytes] = collections.deque([self._lease_frame()],
                                                              maxlen=BACKLOG)
        renew_at = time.monotonic() + self.lease / RENEWALS
        try:
            while not self._stop.is_set():
                if time.monotonic() >= renew_at:
                    renew_at = time.monotonic() + self.lease / RENEWALS
                    if not backlog:  # else the coordinator is out of reach: nothing to renew
                        backlog.append(self._lease_frame())
                poller.modify(dealer, zmq.POLLIN | (zmq.POLLOUT if backlog else 0))
                ready = dict(poller.poll(100))
                if pull in ready:
                    while True:
                        try:
                            backlog.append(pull.recv(zmq.NOBLOCK))
                        except zmq.Again:
                            break
                while backlog:
                    try:
                        dealer.send(backlog[0], zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    backlog.popleft()
                if ready.get(dealer, 0) & zmq.POLLIN:
                    while True:
                        try:
                            frame = dealer.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                        self._on_frame(frame)
        finally:
            dealer.close(0)
            pull.close(0)

    def _lease_frame(self) -> bytes:
        """The light heartbeat: ``client.lease`` with this connection's lease (so that a
        restarted coordinator learns it too); its reply goes to ``on_lease``."""
        return proto.encode(proto.req("client.lease", {"lease": self.lease},
                                      self.next_id("lease"), life=self.life))

    def _on_frame(self, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError:
            return  # the coordinator only sends valid frames; ignore anything else
        if msg.kind == "rep" and msg.id.startswith(f"{self.prefix}-lease"):
            if msg.ok and self.on_lease is not None:
                self.on_lease(msg.result)
            elif not msg.ok:  # a coordinator that predates leases: nothing to renew
                log.debug("lease refused: %s", msg.error)
        elif msg.kind == "rep":
            with self._slots_lock:
                slot = self._slots.get(msg.id)
            if slot is not None:
                slot.reply = msg
                slot.done.set()
        elif msg.kind == "evt":
            self.events.put(msg)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._push.close(0)
        self._ctx.term()
