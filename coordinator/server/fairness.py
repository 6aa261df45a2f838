"""Per-connection budgets, so that a client that floods the coordinator slows only itself.

The coordinator reads its sockets in small alternating batches (``BATCH``), so a request from
any connection waits at most a batch of others' messages, never a whole flood; ZeroMQ's ROUTER
already takes one message from each connection in turn. What a flood could still do is fill an
agent's queue: a connection may have at most ``IN_FLIGHT`` requests forwarded to agents and not
yet answered. Its further requests wait here, in its own queue and in their order (also those
the coordinator answers alone, so that replies keep the order of requests), and run as its
forwarded requests are answered. A connection with ``QUEUED`` requests waiting gets ``E_BUSY``
for the next ones, at once. Pure: no sockets, no clock.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import proto

#: messages read from one socket before the other gets its turn
BATCH = 64
#: messages read in one loop turn at most (then timers and housekeeping run)
TURN_MAX = 2048
#: requests of one connection forwarded to agents and not yet answered, at most
IN_FLIGHT = 64
#: requests of one connection waiting for its in-flight ones, at most (beyond: E_BUSY)
QUEUED = 1000


@dataclass
class Budgets:
    in_flight: int = IN_FLIGHT
    queued: int = QUEUED
    #: connection -> its forwarded requests not yet answered
    flying: collections.Counter[bytes] = field(default_factory=collections.Counter)
    #: connection -> its requests waiting, in arrival order
    waiting: dict[bytes, collections.deque[proto.Message]] = field(default_factory=dict)
    #: connections whose waiting requests may run now
    ready: set[bytes] = field(default_factory=set)
    #: requests refused with E_BUSY since start
    refused: int = 0

    def admit(self, conn: bytes, msg: proto.Message) -> str:
        """``run`` the request now, or it was ``held`` (runs later), or ``busy`` (refuse it)."""
        queue = self.waiting.get(conn)
        if not queue and self.flying[conn] < self.in_flight:
            return "run"
        if queue is not None and len(queue) >= self.queued:
            self.refused += 1
            return "busy"
        self.waiting.setdefault(conn, collections.deque()).append(msg)
        return "held"

    def forwarded(self, conn: bytes | None) -> None:
        """A request of ``conn`` went to an agent (internal work, ``None``, is not counted)."""
        if conn is not None:
            self.flying[conn] += 1

    def answered(self, conn: bytes | None) -> None:
        """A forwarded request of ``conn`` got its reply (or failed, or timed out)."""
        if conn is None or not self.flying[conn]:
            return
        self.flying[conn] -= 1
        if not self.flying[conn]:
            del self.flying[conn]
        if conn in self.waiting:
            self.ready.add(conn)

    def next_ready(self) -> tuple[bytes, proto.Message] | None:
        """A waiting request that may run now (its connection has room in flight), or None."""
        while self.ready:
            conn = next(iter(self.ready))
            queue = self.waiting.get(conn)
            if not queue or self.flying[conn] >= self.in_flight:
                self.ready.discard(conn)
                if queue is not None and not queue:
                    del self.waiting[conn]
                continue
            msg = queue.popleft()
            if not queue:
                del self.waiting[conn]
                self.ready.discard(conn)
            return conn, msg
        return None

    def drop(self, conn: bytes) -> None:
        """Forget the requests of ``conn`` still waiting (its lease expired); its requests at
        agents are still counted until they are answered."""
        self.waiting.pop(conn, None)
        self.ready.discard(conn)

    def held(self) -> int:
        return sum(len(q) for q in self.waiting.values())
