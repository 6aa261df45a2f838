"""Delivery to client connections: bounded queues, counted drops, gap notices.

Every frame the coordinator sends a client (replies, the owner's events, the events its
subscriptions select) goes through :class:`Delivery`. The clients ROUTER has a per-connection
high-water mark (``CLIENT_QUEUE`` messages, ``--client-queue``) and ``ROUTER_MANDATORY``: a send
to a connection whose queue is full, or that is not connected, fails at once (EAGAIN /
EHOSTUNREACH) and the frame is dropped, never queued elsewhere. So what the coordinator holds
for a client that stops reading is bounded by that mark (plus the kernel's socket buffers).

Each drop is counted for its connection. The connection is owed a gap notice: before the next
frame that reaches it, and at every loop turn until one does, the coordinator sends it an
``events.gap`` event saying how many messages it lost since the previous notice. Counts of
connections that never come back are kept for at most ``MAX_OWED`` connections (the oldest are
forgotten first). A connection whose lease expired (``listening`` says no) is not sent anything:
what is meant for it is dropped and counted, and no gap notice is owed to it (nobody reads it;
should it come back, its events' ``seq`` show what it missed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import zmq

import proto
from coordinator.server.frames import send_pair

#: messages queued at most for one client connection (the clients ROUTER's SNDHWM)
CLIENT_QUEUE = 10000
#: connections whose unreported drops are remembered at most
MAX_OWED = 4096
#: seconds between two rounds of owed gap notices from the loop
FLUSH_S = 0.1


@dataclass
class Owed:
    """Messages a connection lost since its last gap notice."""

    dropped: int = 0
    replies: int = 0
    #: every message this connection lost, since the coordinator started
    total: int = 0
    #: gap notices sent to it so far (the notices' own ``seq``)
    notices: int = 0


class Delivery:
    """Sends to client connections through one ROUTER; counts and reports what it drops."""

    def __init__(self, sock: zmq.Socket[bytes], queue: int = CLIENT_QUEUE,
                 listening: Callable[[bytes], bool] = lambda conn: True) -> None:
        self.sock = sock
        self.queue = queue
        self.listening = listening
        self.dropped = 0
        self.owed: OrderedDict[bytes, Owed] = OrderedDict()
        #: the connections owed a notice now (a subset of ``owed``)
        self.due: set[bytes] = set()
        self._next_flush = 0.0

    def send(self, conn: bytes, frame: bytes, reply: bool = False) -> str:
        """Send ``frame`` to ``conn``: ``"ok"``, ``"full"`` (its queue is at the mark) or
        ``"gone"`` (not connected, or its lease expired); the frame is dropped and counted
        unless ``"ok"``."""
        if not self.listening(conn):
            self.dropped += 1
            return "gone"
        owed = self.owed.get(conn)
        if owed is not None and owed.dropped:
            status = self._notify(conn, owed)
            if status != "ok":
                return self._drop(conn, status, reply)
        status = self._raw(conn, frame)
        if status != "ok":
            self._drop(conn, status, reply)
        return status

    def flush(self, now: float) -> None:
        """Try to send every owed gap notice, at most every FLUSH_S (from the loop, so that a
        client that starts reading again learns of its gap even if nothing else is sent to it)."""
        if now < self._next_flush or not self.due:
            return
        self._next_flush = now + FLUSH_S
        for conn in list(self.due):
            self._notify(conn, self.owed[conn])

    def forget(self, conn: bytes) -> None:
        """Forget what ``conn`` is owed (its lease expired: nobody will read it)."""
        self.owed.pop(conn, None)
        self.due.discard(conn)

    def pending(self) -> int:
        """Connections owed a gap notice."""
        return len(self.due)

    def _raw(self, conn: bytes, frame: bytes) -> str:
        try:
            send_pair(self.sock, conn, frame)
            return "ok"
        except zmq.Again:
            return "full"
        except zmq.ZMQError:  # EHOSTUNREACH under ROUTER_MANDATORY
            return "gone"

    def _drop(self, conn: bytes, status: str, reply: bool) -> str:
        owed = self.owed.get(conn)
        if owed is None:
            owed = self.owed[conn] = Owed()
            while len(self.owed) > MAX_OWED:
                self.due.discard(self.owed.popitem(last=False)[0])
        self.owed.move_to_end(conn)
        self.due.add(conn)
        owed.dropped += 1
        owed.total += 1
        owed.replies += reply
        self.dropped += 1
        return status

    def _notify(self, conn: bytes, owed: Owed) -> str:
        ev = proto.evt("events.gap", "", owed.notices + 1, {
            "dropped": owed.dropped, "replies": owed.replies, "total": owed.total})
        status = self._raw(conn, proto.encode(ev))
        if status == "ok":
            owed.notices += 1
            owed.dropped = owed.replies = 0
            self.due.discard(conn)
        return status
