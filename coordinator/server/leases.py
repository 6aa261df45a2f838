"""Client leases, as etcd's leases and ZooKeeper's sessions keep ephemeral state: every client
connection (routing id) has a lease, ``LEASE_S`` seconds unless it asks for another
(``client.lease``, within ``LEASE_MIN_S``..``LEASE_MAX_S``). Every message from the connection
renews it. When a lease runs out, the coordinator releases what the connection owns but its
persistent objects (``coordinator.server.expiry``). A connection that sends again after that
starts a new, *fresh* lease.

Expiry is found without scanning every lease: each lease has one entry in a heap, at the time it
was last scheduled to end; renewals only move the lease's own deadline. An entry whose time has
come is either stale (a newer one replaced it), re-queued at the lease's real deadline (it was
renewed meanwhile), or the lease's end. So a lease costs one heap operation per lease period,
however many messages renew it.

Pure: no sockets; the clock is passed in.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from proto import limits


@dataclass
class Lease:
    """One connection's lease."""

    seconds: float
    #: when it ends unless renewed (monotonic clock)
    deadline: float
    #: when the connection last sent anything
    seen: float
    #: the ``life`` of its last request ("" : none given)
    life: str = ""
    #: the time of its entry in the heap (older entries for it are stale)
    queued: float = 0.0
    #: no client.lease was answered in this lease yet (its reply says ``fresh``)
    fresh: bool = True


class Leases:
    def __init__(self, default_s: float = limits.LEASE_S) -> None:
        self.default_s = default_s
        self.by_conn: dict[bytes, Lease] = {}
        self._heap: list[tuple[float, bytes]] = []
        #: leases that ran out since the coordinator started
        self.expired_total = 0
        #: expiry suspended until then (a restarted coordinator's adoption window)
        self.paused_until = 0.0

    def __len__(self) -> int:
        return len(self.by_conn)

    def alive(self, conn: bytes) -> bool:
        return conn in self.by_conn

    def renew(self, conn: bytes, now: float, life: str = "") -> bool:
        """A message from ``conn``: its lease starts again. True when the lease is new."""
        lease = self.by_conn.get(conn)
        if lease is None:
            self.by_conn[conn] = lease = Lease(self.default_s, now + self.default_s, now)
            self._queue(conn, lease)
            fresh = True
        else:
            lease.deadline = now + lease.seconds
            lease.seen = now
            fresh = False
        if life:
            lease.life = life
        return fresh

    def adopt(self, conn: bytes, now: float) -> None:
        """``conn`` owns objects a restarted coordinator adopted: its lease goes on (renewed,
        and not *fresh*: what it owned is still there)."""
        self.renew(conn, now)
        self.by_conn[conn].fresh = False

    def set(self, conn: bytes, seconds: float, now: float) -> Lease:
        """``conn`` asks for a lease of ``seconds`` (in bounds: the op's schema checked them)."""
        self.renew(conn, now)
        lease = self.by_conn[conn]
        lease.seconds = seconds
        lease.deadline = now + seconds
        if lease.deadline < lease.queued:  # shortened: its heap entry would come too late
            self._queue(conn, lease)
        return lease

    def extend_all(self, now: float) -> None:
        """Every lease runs at least a whole period from ``now`` (the end of an adoption
        window: the clients had no coordinator to talk to before it)."""
        for lease in self.by_conn.values():
            lease.deadline = max(lease.deadline, now + lease.seconds)

    def expired(self, now: float) -> list[tuple[bytes, Lease]]:
        """The leases that ran out by ``now``, each once; they are forgotten."""
        out: list[tuple[bytes, Lease]] = []
        if now < self.paused_until:
            return out
        while self._heap and self._heap[0][0] <= now:
            at, conn = heapq.heappop(self._heap)
            lease = self.by_conn.get(conn)
            if lease is None or lease.queued != at:
                continue  # stale: the lease ended, or was queued again since
            if lease.deadline > now:
                self._queue(conn, lease)  # renewed meanwhile
                continue
            del self.by_conn[conn]
            out.append((conn, lease))
        self.expired_total += len(out)
        return out

    def _queue(self, conn: bytes, lease: Lease) -> None:
        lease.queued = lease.deadline
        heapq.heappush(self._heap, (lease.deadline, conn))
