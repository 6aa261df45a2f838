"""Idempotent requests: the coordinator remembers the replies it sent each client connection,
so that a request sent again with the same id (a client retrying after a lost reply, a timeout or
a reconnection) gets the first reply again and is never executed twice.

- A *retry* is a request from the same connection (routing id) and the same client *life* (the
  envelope's ``life``, an instance id the client picks when it connects; none: ``""``) with the
  same ``id``, ``op`` and ``args`` as an earlier one. Retried while the first is still being
  executed (forwarded to an agent), it is dropped: the first reply answers both. Retried
  later, the first reply is sent again, unchanged.
- The same id with another op or other arguments is a new request (it replaces the entry).
- A new life of a connection (a restarted client that reuses its routing id, and counts its
  request ids from 1 again) starts with no entry: the replies kept for its earlier life are
  forgotten, never replayed to it.
- Read-only ops (``READ_ONLY``) are always executed: a retry of ``lib.status`` gets fresh figures.
- Bounded: ``PER_CLIENT`` entries per connection and ``MAX_ENTRIES`` / ``MAX_BYTES`` in all, the
  oldest forgotten first; a reply larger than ``MAX_REPLY`` is not kept (its retry executes again,
  which the ops with large replies, ``events.subscribe`` with a pre-chosen id, tolerate).

Pure: no sockets, no clock.
"""

from __future__ import annotations

import collections
import hashlib
from dataclasses import dataclass
from typing import Literal

import msgpack

import proto

#: ops that change nothing: executed again on every retry
READ_ONLY = frozenset({"lib.agents", "lib.status", "call.info", "load.status", "client.lease"})
PER_CLIENT = 1024
MAX_ENTRIES = 65536
MAX_BYTES = 32 << 20
MAX_REPLY = 64 << 10

Verdict = Literal["run", "replay", "drop"]
#: an entry's key: connection, life, request id
Key = tuple[bytes, str, str]


@dataclass
class _Entry:
    digest: bytes
    frame: bytes | None = None  # None: in flight


def _digest(msg: proto.Message) -> bytes:
    packed = msgpack.packb([msg.op, msg.args], use_bin_type=True)
    return hashlib.blake2b(packed, digest_size=16).digest()


class ReplyCache:
    def __init__(self, per_client: int = PER_CLIENT, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES, max_reply: int = MAX_REPLY) -> None:
        self.per_client = per_client
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_reply = max_reply
        self._entries: collections.OrderedDict[Key, _Entry] = collections.OrderedDict()
        #: connection -> the (life, id) of its entries, oldest first
        self._per: dict[bytes, collections.deque[tuple[str, str]]] = {}
        #: connection -> the life its entries belong to
        self._lives: dict[bytes, str] = {}
        self.bytes = 0
        self.replayed = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, client: bytes, msg: proto.Message) -> tuple[Verdict, bytes]:
        """What to do with a request that just arrived: ``run`` it (it is recorded as in flight),
        ``replay`` the returned frame, or ``drop`` it (its first copy is still in flight)."""
        if not msg.id or msg.op in READ_ONLY:
            return "run", b""
        if self._lives.get(client, msg.life) != msg.life:
            self.forget_client(client)  # a new life: nothing of the earlier one applies
        key = (client, msg.life, msg.id)
        digest = _digest(msg)
        have = self._entries.get(key)
        if have is not None and have.digest == digest:
            if have.frame is None:
                self.dropped += 1
                return "drop", b""
            self.replayed += 1
            return "replay", have.frame
        if have is not None:
            self._forget(key)  # the id is reused for another request
        self._entries[key] = _Entry(digest)
        self._lives[client] = msg.life
        ids = self._per.setdefault(client, collections.deque())
        ids.append((msg.life, msg.id))
        if len(ids) > self.per_client:
            self._forget((client, *ids[0]))
        while len(self._entries) > self.max_entries:
            self._forget(next(iter(self._entries)))
        return "run", b""

    def done(self, client: bytes, rid: str, frame: bytes, life: str = "") -> None:
        """The reply ``frame`` to request ``rid`` of ``life`` goes to ``client``: keep it for
        retries."""
        entry = self._entries.get((client, life, rid))
        if entry is None or entry.frame is not None:
            return
        if len(frame) > self.max_reply:
            self._forget((client, life, rid))
            return
        entry.frame = frame
        self.bytes += len(frame)
        while self.bytes > self.max_bytes and self._entries:
            self._forget(next(iter(self._entries)))

    def forget(self, client: bytes, rid: str, life: str = "") -> None:
        """Keep nothing for request ``rid``: its retry is executed (or refused) anew."""
        self._forget((client, life, rid))

    def forget_client(self, client: bytes) -> None:
        """Keep nothing for ``client`` (a new life of it, or its lease expired)."""
        for life, rid in list(self._per.get(client, ())):
            self._forget((client, life, rid))

    def _forget(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        if entry.frame is not None:
            self.bytes -= len(entry.frame)
        ids = self._per.get(key[0])
        if ids is not None:
            try:
                ids.remove((key[1], key[2]))
            except ValueError:
                pass
            if not ids:
                del self._per[key[0]]
                self._lives.pop(key[0], None)
