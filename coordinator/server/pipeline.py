"""The request pipeline: a client's frame is decoded, held while a restarted coordinator adopts,
budgeted (``fairness``), deduplicated (``replycache``), checked (expiry, arguments, roles and
ownership) and served by its route (``routes``); what an agent must execute is forwarded with an
internal id, and its reply goes back under the client's id (or to the route's callback).
Requests waiting on an agent fail when it is lost or too slow."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.access import Access
from coordinator.server.adoption import Adoption
from coordinator.server.delivery import Delivery
from coordinator.server.fairness import Budgets
from coordinator.server.leases import Leases
from coordinator.server.registry import AgentRecord
from coordinator.server.replycache import ReplyCache
from coordinator.server.sockets import Sockets
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")

#: seconds an agent has to answer a forwarded request
AGENT_REPLY_S = 10.0

OnReply = Callable[[proto.Message], None]
#: a route: serves one client op (``coordinator.server.routes``)
Route = Callable[["Coordinator", bytes, proto.Message], None]


@dataclass
class Pending:
    """A request forwarded to an agent, waiting for its reply."""

    client: bytes | None
    request: proto.Message
    agent: str
    deadline: float
    on_reply: OnReply | None = None


class Pipeline:
    def __init__(self, sockets: Sockets, delivery: Delivery, access: Access,
                 adoption: Adoption, routes: dict[str, Route],
                 clock: Callable[[], float], leases: Leases | None = None) -> None:
        self.sockets = sockets
        self.delivery = delivery
        self.access = access
        self.adoption = adoption
        self.routes = routes
        self.clock = clock
        #: every message from a client connection renews its lease
        self.leases = leases if leases is not None else Leases()
        #: wall clock, for requests' ``expires`` (Unix time)
        self.wall: Callable[[], float] = time.time
        self.pending: dict[str, Pending] = {}
        #: replies kept for retried request ids (a restarted coordinator starts with none)
        self.replies = ReplyCache()
        #: per-connection budgets: a flooding client waits behind its own requests
        self.budgets = Budgets()
        self._ids = itertools.count(1)

    # -- from clients ---------------------------------------------------------------------
    def on_client_frame(self, server: Coordinator, client: bytes, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError as exc:
            self.leases.renew(client, self.clock())  # any message is a sign of life
            self.to_client(client, proto.error(None, exc))
            return
        self.leases.renew(client, self.clock(), msg.life)
        if msg.kind != "req":
            return  # clients only send requests (heartbeats renew the lease, nothing more)
        spec = proto.OPS.get(msg.op)
        if self.adoption.open and not (spec is not None and spec.adopting):
            if not self.adoption.hold(client, frame):  # served when the window closes
                self.fail(client, msg, ProtoError(
                    "E_ADOPTING", "the coordinator is re-adopting its agents' objects and holds "
                    "no more requests; retry in a few seconds", op=msg.op))
            return
        admitted = self.budgets.admit(client, msg)
        if admitted == "busy":
            self.fail(client, msg, ProtoError(
                "E_BUSY", f"this connection has {self.budgets.queued} requests waiting for its "
                "earlier ones; nothing was done: retry once replies come back", op=msg.op))
        elif admitted == "run":
            self.execute(server, client, msg)

    def execute(self, server: Coordinator, client: bytes, msg: proto.Message) -> None:
        """Run one admitted client request (a retried id gets its first reply instead)."""
        verdict, first_reply = self.replies.begin(client, msg)
        if verdict != "run":  # a retried request id: never executed twice
            if verdict == "replay":
                self.delivery.send(client, first_reply, reply=True)
            return
        try:
            proto.check_expiry(msg, self.wall())
            proto.check_request(msg)
            route = self.routes.get(msg.op)
            if route is None:
                raise ProtoError("E_UNKNOWN_OP", f"the coordinator has no op {msg.op!r}", op=msg.op)
            self.access.check(server, client, msg)
            route(server, client, msg)
        except ProtoError as exc:
            self.fail(client, msg, exc)
        except Exception as exc:  # a bug in a route must not stop the coordinator
            log.exception("%s failed", msg.op)
            self.fail(client, msg, ProtoError("E_INTERNAL", f"{type(exc).__name__}: {exc}"))

    # -- replies --------------------------------------------------------------------------
    def to_client(self, client: bytes | None, msg: proto.Message) -> None:
        if client is None:
            return
        if msg.kind == "rep" and not self.current_life(client, msg.life):
            return  # a reply to an earlier life of this connection: never seen by this one
        frame = proto.encode(msg)
        if msg.kind == "rep" and (msg.error or {}).get("code") == "E_EXPIRED":
            self.replies.forget(client, msg.id, msg.life)  # a retry with a later deadline may run
        elif msg.kind == "rep":
            self.replies.done(client, msg.id, frame, msg.life)  # for a retry of the same request
        self.delivery.send(client, frame, reply=msg.kind == "rep")

    def current_life(self, client: bytes, life: str) -> bool:
        """Whether a reply to a request of ``life`` is for the connection's current life (a
        request without a life is always current)."""
        lease = self.leases.by_conn.get(client)
        return not (life and lease is not None and lease.life and lease.life != life)

    def forget_client(self, client: bytes) -> None:
        """``client``'s lease expired: drop its requests still waiting for their turn and the
        replies kept for its retries."""
        self.replies.forget_client(client)
        self.budgets.drop(client)

    def reply(self, client: bytes | None, request: proto.Message,
              result: dict[str, Any] | None = None) -> None:
        self.to_client(client, proto.ok(request, result))

    def fail(self, client: bytes | None, request: proto.Message, exc: ProtoError) -> None:
        self.to_client(client, proto.error(request, exc))

    # -- to agents ------------------------------------------------------------------------
    def forward(self, client: bytes | None, request: proto.Message, agent: AgentRecord,
                args: dict[str, Any], on_reply: OnReply | None = None) -> None:
        """Send ``request.op`` with ``args`` to ``agent``; its reply goes to ``on_reply`` or, by
        default, back to the client under the client's request id."""
        rid = f"k{next(self._ids)}"
        self.pending[rid] = Pending(client, request, agent.name,
                                    self.clock() + AGENT_REPLY_S, on_reply)
        self.budgets.forwarded(client)
        # the deadline goes along when a client waits for the outcome; work the coordinator
        # has already committed to (deletions, clean-ups: no client) must not expire halfway
        expires = request.expires if client is not None else 0.0
        if not self.sockets.send(self.sockets.agents, agent.rid,
                                 proto.encode(proto.req(request.op, args, rid, expires))):
            self.budgets.answered(self.pending.pop(rid).client)
            raise ProtoError("E_WORKER_LOST", f"agent {agent.name} is unreachable",
                             op=request.op)

    def on_agent_reply(self, msg: proto.Message) -> None:
        pend = self.pending.pop(msg.id, None)
        if pend is None:
            return  # late reply to a request that already timed out
        self.budgets.answered(pend.client)
        msg.life = pend.request.life
        if pend.on_reply is not None:
            pend.on_reply(msg)
            return
        msg.id = pend.request.id
        self.to_client(pend.client, msg)

    def fail_agent_pending(self, name: str, why: str) -> None:
        """Every request waiting on agent ``name`` fails with E_WORKER_LOST."""
        for rid, pend in list(self.pending.items()):
            if pend.agent == name:
                del self.pending[rid]
                err = ProtoError("E_WORKER_LOST", f"agent {name} {why}", op=pend.request.op)
                self._fail_pending(pend, err)

    def expire(self, now: float) -> None:
        """Requests an agent did not answer in AGENT_REPLY_S fail with E_TIMEOUT."""
        for rid, pend in list(self.pending.items()):
            if now > pend.deadline:
                del self.pending[rid]
                self._fail_pending(pend, ProtoError(
                    "E_TIMEOUT", f"agent {pend.agent} did not answer in {AGENT_REPLY_S:g} s",
                    op=pend.request.op))

    def _fail_pending(self, pend: Pending, exc: ProtoError) -> None:
        self.budgets.answered(pend.client)
        if pend.on_reply is not None:
            pend.on_reply(proto.error(pend.request, exc))
        else:
            self.fail(pend.client, pend.request, exc)
