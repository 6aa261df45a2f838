"""The coordinator process: the state it keeps, the parts that act on it, and its one loop.

Agents and clients connect; only the coordinator binds (``sockets``). State: the registry of
agents, the object table (accounts, calls, media objects, and what each agent holds), the load
runs, the fleet-wide codec priorities. Parts, each with one job: ``lifecycle`` (agents' hello,
heartbeats, draining, goodbye, loss; adoption after a restart; accounts moved by ``recovery``),
``pipeline`` (client requests: budgets, retries, checks, routes, forwarding to agents), and
``events`` (agents' events to owners, subscriptions and the firehose); for Prometheus, a
snapshot of the figures published once a second (``metrics``) to a server in threads of its
own (``metrics_export``), so that no scraper holds up this loop. Routes
(``coordinator.server.routes``, one per client op) get this object as ``server``.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable

import zmq

import proto
from coordinator.server import memory, metrics
from coordinator.server.access import Access
from coordinator.server.adoption import Adoption
from coordinator.server.capacity import CapacityIndex
from coordinator.server.counts import FleetCounts
from coordinator.server.delivery import CLIENT_QUEUE, Delivery
from coordinator.server.events import Events
from coordinator.server.expiry import expire
from coordinator.server.fairness import BATCH, TURN_MAX
from coordinator.server.firehose import MAX_SUBSCRIBERS, QUEUE
from coordinator.server.later import Later
from coordinator.server.leases import Leases
from coordinator.server.lifecycle import Lifecycle
from coordinator.server.load.run import LoadRun
from coordinator.server.load.steering import upkeep
from coordinator.server.metrics import LoadTotals
from coordinator.server.metrics_export import MetricsServer
from coordinator.server.objects import ObjectTable
from coordinator.server.pipeline import Pipeline
from coordinator.server.placement import AgentLoad
from coordinator.server.recovery import Recovery
from coordinator.server.registry import Registry
from coordinator.server.routes import ROUTES
from coordinator.server.security import RefusalLog, ServerKeys, zap_reply
from coordinator.server.sockets import Sockets
from coordinator.server.subscriptions import Subscribers
from proto import ProtoError, limits

log = logging.getLogger("coordinator")

#: seconds between two returns of free memory to the system (coordinator.server.memory)
TRIM_EVERY_S = 10.0
#: a loop turn this much later than the previous one means the coordinator stood still
#: (stopped, starved of CPU): clients could not renew their leases meanwhile
STALL_S = 1.0


class Coordinator:
    def __init__(self, agents_url: str, clients_url: str, events_url: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 lost_after_s: float = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES,
                 client_queue: int = CLIENT_QUEUE, client_sndbuf: int = 0,
                 keys: ServerKeys | None = None, adopt_window_s: float = 0.0,
                 events_queue: int = QUEUE, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self.clock = clock
        self.cid = secrets.token_hex(4)
        #: when this coordinator started (Unix time: lib.status ``started``)
        self.started = time.time()
        #: when it started, on ``clock`` (lib.status's uptime)
        self.started_at = clock()
        self.sockets = Sockets(agents_url, clients_url, events_url, keys, client_queue,
                               client_sndbuf, events_queue, max_subscribers)
        # the state
        self.registry = Registry(lost_after_s=lost_after_s)
        self.objects = ObjectTable()
        self.loads: dict[str, LoadRun] = {}
        #: per agent, the calls and accounts of clients and load runs (placement, lib.agents)
        self.counts = FleetCounts(self.objects, self.loads)
        #: free call capacity by agent, for placement without a scan (touched on changes)
        self.capacity = CapacityIndex(self.load_of, lambda: [r.name for r in self.registry.live()],
                                      self.free_slots)
        self.objects.on_change = self.capacity.touch
        self._runs_seen: frozenset[str] = frozenset()
        #: requests waiting a moment (for a call slot PJSIP is still freeing)
        self.later = Later()
        #: codec id -> priority set for the whole fleet (lib.set_codec_priority without agent)
        self.codec_priorities: dict[str, int] = {}
        self.load_totals = LoadTotals()
        self.subs = Subscribers()
        #: client connections' leases (what a client owns goes when its lease runs out), and
        #: the client.expired events so far (their seq)
        self.leases = Leases()
        self.expiries = 0
        # the parts
        self.access = Access(keys)
        self.refusals = RefusalLog()
        self.delivery = Delivery(self.sockets.clients, client_queue, self.leases.alive)
        #: a restarted coordinator takes over what its agents hold (coordinator.server.adoption);
        #: the replies cache starts empty: a request retried across a restart runs again
        self.adoption = Adoption(adopt_window_s, clock())
        self.leases.paused_until = self.adoption.until  # no client could speak before
        self.recovery = Recovery()
        self.lifecycle = Lifecycle()
        self.pipeline = Pipeline(self.sockets, self.delivery, self.access, self.adoption, ROUTES,
                                 clock, self.leases)
        self.events = Events(self.delivery, self.subs, self.objects, self.sockets.firehose)
        #: /metrics, served by threads of its own from the snapshot this loop publishes
        self.metrics: MetricsServer | None = None
        self.stopping = False
        self._runs = itertools.count(1)
        self._next_trim = 0.0
        self._next_publish = 0.0
        self._last_turn = clock()

    def endpoints(self) -> dict[str, str]:
        """The URLs actually bound (ports chosen by the OS when asked for port 0 or *)."""
        out = self.sockets.endpoints()
        if self.metrics is not None:
            out["metrics"] = self.metrics.url
        return out

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        self.sockets.close()

    def load_of(self, name: str) -> AgentLoad | None:
        """An agent's load now, for the capacity index (None: not a live agent)."""
        rec = self.registry.by_name.get(name)
        return rec.load(self.counts) if rec is not None and rec.alive else None

    def free_slots(self, name: str) -> int:
        """``load_of(name).free_slots``, without the rest of the load (placement reads the home
        and replicas of each call's account)."""
        rec = self.registry.by_name.get(name)
        return rec.free_slots(self.counts.calls_at(name)) if rec is not None and rec.alive else 0

    def next_run_number(self) -> int:
        return next(self._runs)

    def skip_run_numbers(self, past: int) -> None:
        """Number no new run ``L<n>`` at ``past`` or below (runs a restart adopted)."""
        n = next(self._runs)
        self._runs = itertools.count(max(n, past + 1))

    def enable_metrics(self, host: str, port: int) -> int:
        """Serve Prometheus /metrics on host:port (off this loop, which publishes a snapshot
        of its figures every second); returns the bound port. Raises OSError if it cannot bind."""
        self.metrics = MetricsServer(host, port)
        self.metrics.publish(metrics.take(self))
        return self.metrics.port

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stopping:
            self.turn(0 if self.pipeline.budgets.ready else 100)

    def turn(self, timeout_ms: int) -> None:
        s = self.sockets
        events = dict(s.poller.poll(timeout_ms))
        if s.watch.sock in events:
            s.watch.on_monitor(self.clock())
        if s.firehose is not None and s.firehose.monitor in events and s.firehose.on_monitor():
            memory.trim()  # a subscriber's queue went with its connection: give it back
        if s.zap is not None and s.zap in events:
            self.on_zap(s.zap)
        drained = self._serve({s.agents, s.clients} & set(events))
        self.housekeeping(self.clock(), drained)

    def _serve(self, readable: set[zmq.Socket[bytes]]) -> bool:
        """Small batches from each socket in turn (a flood on one delays others by a batch at
        most), then requests that waited for their connection's budget. False when messages
        were left for the next turn."""
        handlers: dict[zmq.Socket[bytes], Callable[[bytes, bytes], None]] = {
            self.sockets.agents: lambda rid, frame: self.lifecycle.on_agent_frame(self, rid, frame),
            self.sockets.clients: lambda rid, frame: self.pipeline.on_client_frame(self, rid, frame)}
        ready = [sock for sock in (self.sockets.agents, self.sockets.clients) if sock in readable]
        budget = TURN_MAX
        while budget > 0:
            for sock in list(ready):
                read = self._read_batch(sock, handlers[sock])
                budget -= read
                if read < BATCH:
                    ready.remove(sock)
            ran = 0
            while ran < BATCH and (held := self.pipeline.budgets.next_ready()) is not None:
                self.pipeline.execute(self, *held)
                ran += 1
            budget -= ran
            if not ready and not ran:
                break
        return budget > 0

    def _read_batch(self, sock: zmq.Socket[bytes],
                    handler: Callable[[bytes, bytes], None]) -> int:
        """Handle up to BATCH messages waiting on ``sock``; returns how many there were."""
        for n in range(BATCH):
            try:
                parts = self.sockets.recv(sock, lambda rid, user: self.access.seen(self, rid, user))
            except zmq.Again:
                return n
            if len(parts) == 2:
                handler(parts[0], parts[1])
            elif parts:
                self.sockets.send(sock, parts[0], proto.encode(proto.error(None, ProtoError(
                    "E_BAD_MSG", "one frame per message is expected"))))
        return BATCH

    def housekeeping(self, now: float, drained: bool = True) -> None:
        """Timers. ``drained``: every message that had arrived was read (leases expire only
        then: a renewal may wait in a socket)."""
        self.lifecycle.tick(self, now)
        if len(self.loads) != len(self._runs_seen) or not self._runs_seen.issuperset(self.loads):
            self._runs_seen = frozenset(self.loads)
            self.capacity.touch_all()  # a load run began or ended: its slots on many agents
        if now >= self._next_trim:  # give back what a burst left in the allocator
            self._next_trim = now + TRIM_EVERY_S
            memory.trim()
        self.adoption.tick(self, now)
        self.recovery.tick(self, now)
        self.delivery.flush(now)
        upkeep(self, now)
        self.later.run_due(now)
        self.pipeline.expire(now)
        if self.metrics is not None and now >= self._next_publish:
            self._next_publish = now + metrics.PUBLISH_EVERY_S
            self.metrics.publish(metrics.take(self))
        if now - self._last_turn > STALL_S:
            self.leases.extend_all(now)  # nobody could renew a lease while the loop stood still
        self._last_turn = now
        if drained:
            for conn, lease in self.leases.expired(now):
                expire(self, conn, lease, now)

    def on_zap(self, zap: zmq.Socket[bytes]) -> None:
        """Answer the pending ZAP requests (one per handshake of a CURVE socket, and of the
        firehose) from the allow-lists and the firehose's subscriber cap."""
        firehose = self.sockets.firehose
        while True:
            try:
                request = zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            reply = zap_reply(request, self.sockets.keys,
                              firehose.room if firehose is not None else None)
            if reply[2] != b"200":
                domain, peer = (x.decode("utf-8", "replace") for x in (request + [b"?"] * 4)[2:4])
                count = self.refusals.note(domain, peer, self.clock())
                if count:
                    log.warning("refused a connection to %s from %s: %s (%d since the last "
                                "report)", domain, peer, reply[3].decode(), count)
            zap.send_multipart(reply)
