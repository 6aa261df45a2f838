"""One client connection and what it knows: requests and their errors, object ids, the objects
this client holds (its tables), and the callback thread that turns events into callbacks
(``dispatch.HANDLERS``). ``Lib`` is its public face; accounts, calls and buddies send their
requests through it."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import proto
from coordinator.client.connection import Connection
from coordinator.client.dispatch import HANDLERS
from coordinator.client.errors import Error
from coordinator.client.seqwatch import SeqWatch
from proto import ProtoError, limits
from proto.curve import ClientKeys

if TYPE_CHECKING:
    from coordinator.client.account import Account
    from coordinator.client.buddy import Buddy
    from coordinator.client.call import Call
    from coordinator.client.load import LoadWatch
    from coordinator.client.media import PlayerEnd

log = logging.getLogger("callfleet.client")

#: called with the player id at each end of its file
EofCallback = Callable[[str], None]


class Session:
    def __init__(self, url: str, timeout: float, keys: ClientKeys | None,
                 lease: float = limits.LEASE_S) -> None:
        self.url = url
        self.timeout = timeout
        self.events: queue.Queue[proto.Message | None] = queue.Queue()
        #: leases the coordinator had let expire while this client held objects (they are gone)
        self.leases_lost = 0
        self._leased = False
        self.conn = Connection(url, self.events, keys, lease, self._on_lease)
        #: the objects this client holds, by id: what events are about
        self.accounts: dict[str, Account] = {}
        self.calls: dict[str, Call] = {}
        self.buddies: dict[str, Buddy] = {}
        self.loads: dict[str, LoadWatch] = {}
        self.players: dict[str, PlayerEnd] = {}
        #: callbacks run under this lock (``Lib.auto_lock``)
        self.lock = threading.RLock()
        self.callback_errors: list[BaseException] = []
        self.seqs = SeqWatch()
        #: messages the coordinator said it dropped for this connection (events.gap notices)
        self.dropped_reported = 0
        #: told of lost events: (object id or "" for the connection, how many)
        self.on_gap: Callable[[str, int], None] = self._log_gap
        self._thread = threading.Thread(target=self._deliver, name="callfleet-callbacks",
                                        daemon=True)
        self._thread.start()

    def next_id(self, prefix: str) -> str:
        """A fresh id for an object this client creates (its requests are then idempotent)."""
        return self.conn.next_id(prefix)

    def request(self, op: str, args: dict[str, Any], obj: str = "",
                expires: float = 0.0) -> dict[str, Any]:
        """Send ``op`` and wait for its reply: its result, or :class:`Error` naming ``obj``."""
        try:
            rep = self.conn.request(op, args, self.timeout, expires)
        except ProtoError as exc:
            raise Error(obj or exc.obj, op, exc.code, exc.msg, exc.status) from None
        if not rep.ok:
            raise Error.of_reply(rep.error or {}, obj, op)
        return rep.result

    #: the coordinator's instance id, from its lease replies ('' before the first)
    coordinator = ""
    #: how many times a lease reply came from a new coordinator instance
    coordinator_restarts = 0

    def _on_lease(self, result: dict[str, Any]) -> None:
        """A lease reply (I/O thread): ``fresh`` after the first means the coordinator had
        forgotten this connection: its lease expired (its objects were released), or the
        coordinator restarted without adopting anything of it."""
        fresh, self._leased = bool(result.get("fresh")) and self._leased, True
        cid = str(result.get("coordinator") or "")
        if cid and self.coordinator and cid != self.coordinator:
            self.coordinator_restarts += 1
            log.warning("callfleet: the coordinator restarted (instance %s, was %s): what it "
                        "adopted goes on; subscriptions must be made again", cid,
                        self.coordinator)
        self.coordinator = cid or self.coordinator
        if fresh and (self.accounts or self.calls or self.buddies or self.loads or self.players):
            self.leases_lost += 1
            log.warning("callfleet: the coordinator let this client's lease expire (it was "
                        "silent for %g s or more): its accounts, calls and subscriptions that "
                        "were not persistent are gone", self.conn.lease)

    def close(self) -> None:
        self.events.put(None)
        self._thread.join(timeout=5)
        self.conn.close()

    # -- events, on the callback thread --------------------------------------------------
    def _deliver(self) -> None:
        while True:
            msg = self.events.get()
            if msg is None:
                return
            with self.lock:
                try:
                    self._check_seq(msg)
                    self._dispatch(msg)
                except Exception as exc:  # a user callback failed: keep delivering
                    self.callback_errors.append(exc)

    def _check_seq(self, msg: proto.Message) -> None:
        if msg.op == "events.gap":
            dropped = int(msg.data.get("dropped", 0))
            self.dropped_reported += dropped
            self.on_gap("", dropped)
            return
        key = f"{msg.op.split('.', 1)[0]}/{msg.obj}"  # ids of calls, accounts, runs may collide
        missed = self.seqs.observe(key, msg.seq)
        if (msg.op == "call.state" and msg.data.get("state") == "DISCONNECTED") \
                or msg.op == "load.done":
            self.seqs.forget(key)
        if missed:
            self.on_gap(msg.obj, missed)

    def _dispatch(self, msg: proto.Message) -> None:
        entry = HANDLERS.get(msg.op)
        if entry is None:
            return  # an event for subscribers only (load.stats, agent.*)
        table, handler = entry
        objects: dict[str, Any] = getattr(self, table)
        if msg.obj in objects:
            handler(objects[msg.obj], msg.data)

    @staticmethod
    def _log_gap(obj: str, missed: int) -> None:
        log.warning("callfleet: %d message(s) lost%s", missed, f" about {obj}" if obj else
                    " by the coordinator for this connection")
