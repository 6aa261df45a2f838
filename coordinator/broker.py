"""The coordinator process: its sockets, its loop, and the routing between clients and agents.

Agents and clients connect; only the coordinator binds. Client requests are executed by the
handlers in ``coordinator.handlers`` (one per op); requests that an agent must execute are
forwarded with an internal id and their replies routed back with the client's id. Agents'
events go to the client that owns the object, in the order the agent sent them.
"""

from __future__ import annotations

import itertools
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import zmq

import proto
from coordinator import firehose, memory
from coordinator.access import Access
from coordinator.adoption import (
    Adoption,
    BadHoldings,
    Holdings,
    conflict,
    parse,
)
from coordinator.audio_handlers import AUDIO_HANDLERS, agent_joined
from coordinator.delivery import CLIENT_QUEUE, Delivery
from coordinator.fairness import BATCH, TURN_MAX, Budgets
from coordinator.firehose import Firehose
from coordinator.handlers import HANDLERS as BASE_HANDLERS
from coordinator.handlers import fatal_report
from coordinator.liveness import ConnWatch
from coordinator.load_handlers import LOAD_HANDLERS, upkeep
from coordinator.loadctl import LoadRun
from coordinator.media_handlers import MEDIA_HANDLERS
from coordinator.metrics import LoadTotals, MetricsServer
from coordinator.objects import CallRec, ObjectTable
from coordinator.recovery import Recovery
from coordinator.registry import AgentRecord, Registry
from coordinator.replycache import ReplyCache
from coordinator.security import (
    DOMAIN_AGENTS,
    DOMAIN_CLIENTS,
    DOMAIN_EVENTS,
    ZAP_ENDPOINT,
    RefusalLog,
    ServerKeys,
    serve_curve,
    zap_reply,
)
from coordinator.subscribe import Subscribers
from coordinator.ua_handlers import UA_HANDLERS
from proto import ProtoError, limits

HANDLERS = {**BASE_HANDLERS, **LOAD_HANDLERS, **UA_HANDLERS, **MEDIA_HANDLERS,
            **AUDIO_HANDLERS}

#: seconds an agent has to answer a forwarded request
AGENT_REPLY_S = 10.0
#: seconds between two returns of free memory to the system (coordinator.memory)
TRIM_EVERY_S = 10.0

OnReply = Callable[[proto.Message], None]


@dataclass
class Pending:
    """A request forwarded to an agent, waiting for its reply."""

    client: bytes | None
    request: proto.Message
    agent: str
    deadline: float
    on_reply: OnReply | None = None


class Numbered(Protocol):
    seq: int


def renumber(msg: proto.Message, obj: Numbered) -> bytes:
    """Give an agent's event the next number of ``obj``'s sequence (an account's events come
    from every agent holding a replica, a run's from every agent in it): the frame to forward."""
    obj.seq += 1
    msg.seq = obj.seq
    return proto.encode(msg)


def _router(ctx: zmq.Context[zmq.Socket[bytes]], url: str, keys: ServerKeys | None,
            domain: str, sndhwm: int = 100000, sndbuf: int = 0) -> zmq.Socket[bytes]:
    """``keys``: CURVE server keys (None: plain); ``sndhwm``: messages queued per connection;
    ``sndbuf``: its kernel buffer (0: the OS's)."""
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    if sndbuf:
        sock.setsockopt(zmq.SNDBUF, sndbuf)
    sock.setsockopt(zmq.RCVHWM, 100000)
    sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
    if keys is not None:
        serve_curve(sock, keys, domain)
    sock.bind(url)
    return sock


def _holds(hello: dict[str, Any]) -> bool:
    """An agent's hello says it holds objects (calls, accounts, media objects, load runs)."""
    return bool(hello.get("calls") or hello.get("accounts") or hello.get("media")
                or hello.get("holdings"))


class Coordinator:
    def __init__(self, agents_url: str, clients_url: str, events_url: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 lost_after_s: float = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES,
                 client_queue: int = CLIENT_QUEUE, client_sndbuf: int = 0,
                 keys: ServerKeys | None = None, adopt_window_s: float = 0.0,
                 events_queue: int = firehose.QUEUE,
                 max_subscribers: int = firehose.MAX_SUBSCRIBERS) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.keys = keys
        self.access = Access(keys)
        self.refusals = RefusalLog()
        #: the ZAP handler, answered from this loop (bound before any socket that uses it): keys
        #: with CURVE, and the firehose's subscriber cap
        self.zap: zmq.Socket[bytes] | None = None
        if keys is not None or events_url:
            self.zap = self.ctx.socket(zmq.REP)
            self.zap.setsockopt(zmq.LINGER, 0)
            self.zap.bind(ZAP_ENDPOINT)
        self.agents = _router(self.ctx, agents_url, keys, DOMAIN_AGENTS)
        # an agent that reconnects under its name takes the name's routing id over at once: the
        # old connection may still look open here (half-open after a network cut, or closing),
        # and a ROUTER refuses a second connection with an id in use
        self.agents.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.clients = _router(self.ctx, clients_url, keys, DOMAIN_CLIENTS, client_queue,
                               client_sndbuf)
        self.delivery = Delivery(self.clients, client_queue)
        self.firehose: Firehose | None = None
        if events_url:
            self.firehose = Firehose(self.ctx.socket(zmq.PUB), events_queue, max_subscribers)
            if keys is not None:
                serve_curve(self.firehose.sock, keys, DOMAIN_EVENTS)
            self.firehose.sock.bind(events_url)
        self.clock = clock
        #: wall clock, for requests' ``expires`` (Unix time)
        self.wall: Callable[[], float] = time.time
        self.cid = secrets.token_hex(4)
        self.registry = Registry(lost_after_s=lost_after_s)
        self.objects = ObjectTable()
        self.pending: dict[str, Pending] = {}
        self.loads: dict[str, LoadRun] = {}
        self.metrics: MetricsServer | None = None
        self.load_totals = LoadTotals()
        self.subs = Subscribers()
        self._runs = itertools.count(1)
        self.dropped = 0
        self.stopping = False
        self._rids = itertools.count(1)
        self._next_hb = 0.0
        self._next_trim = 0.0
        self._poller = zmq.Poller()
        self._poller.register(self.agents, zmq.POLLIN)
        self._poller.register(self.clients, zmq.POLLIN)
        if self.zap is not None:
            self._poller.register(self.zap, zmq.POLLIN)
        self.watch = ConnWatch(self.agents)
        self._poller.register(self.watch.sock, zmq.POLLIN)
        if self.firehose is not None:
            self._poller.register(self.firehose.monitor, zmq.POLLIN)
        self.recovery = Recovery()
        #: a restarted coordinator takes over what its agents hold (coordinator.adoption);
        #: the replies cache starts empty: a request retried across a restart runs again
        self.adoption = Adoption(adopt_window_s, clock())
        self.replies = ReplyCache()
        #: per-connection budgets: a flooding client waits behind its own requests
        self.budgets = Budgets()
        #: codec id -> priority set for the whole fleet (lib.set_codec_priority without agent)
        self.codec_priorities: dict[str, int] = {}

    def endpoints(self) -> dict[str, str]:
        """The URLs actually bound (ports chosen by the OS when asked for port 0 or *)."""
        out = {"agents": self.agents.getsockopt_string(zmq.LAST_ENDPOINT),
               "clients": self.clients.getsockopt_string(zmq.LAST_ENDPOINT)}
        if self.firehose is not None:
            out["events"] = self.firehose.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        if self.metrics is not None:
            out["metrics"] = f"http://127.0.0.1:{self.metrics.port}/metrics"
        return out

    def close(self) -> None:
        if self.metrics is not None:
            self.metrics.close()
        self.watch.close()
        if self.firehose is not None:
            self.firehose.close()
        for sock in (self.agents, self.clients, self.zap):
            if sock is not None:
                sock.close(0)
        self.ctx.term()

    # -- sending ----------------------------------------------------------------------------
    def _send(self, sock: zmq.Socket[bytes], rid: bytes, frame: bytes) -> bool:
        try:
            sock.send_multipart([rid, frame], zmq.NOBLOCK)
            return True
        except (zmq.Again, zmq.ZMQError):  # peer gone (ROUTER_MANDATORY) or its queue full
            self.dropped += 1
            return False

    def to_client(self, client: bytes | None, msg: proto.Message) -> None:
        if client is not None:
            frame = proto.encode(msg)
            if msg.kind == "rep" and (msg.error or {}).get("code") == "E_EXPIRED":
                self.replies.forget(client, msg.id)  # a retry with a later deadline may run
            elif msg.kind == "rep":
                self.replies.done(client, msg.id, frame)  # for a retry of the same request
            self.delivery.send(client, frame, reply=msg.kind == "rep")

    def send_frame_to_client(self, client: bytes, frame: bytes) -> str:
        """``frame`` to one client connection: ``ok``, ``full`` or ``gone`` (see Delivery)."""
        return self.delivery.send(client, frame)

    def next_run_number(self) -> int:
        return next(self._runs)

    def skip_run_numbers(self, past: int) -> None:
        """Number no new run ``L<n>`` at ``past`` or below (runs a restart adopted)."""
        n = next(self._runs)
        self._runs = itertools.count(max(n, past + 1))

    def reply(self, client: bytes | None, request: proto.Message,
              result: dict[str, Any] | None = None) -> None:
        self.to_client(client, proto.ok(request, result))

    def fail(self, client: bytes | None, request: proto.Message, exc: ProtoError) -> None:
        self.to_client(client, proto.error(request, exc))

    def forward(self, client: bytes | None, request: proto.Message, agent: AgentRecord,
                args: dict[str, Any], on_reply: OnReply | None = None) -> None:
        """Send ``request.op`` with ``args`` to ``agent``; its reply goes to ``on_reply`` or, by
        default, back to the client under the client's request id."""
        rid = f"k{next(self._rids)}"
        self.pending[rid] = Pending(client, request, agent.name,
                                    self.clock() + AGENT_REPLY_S, on_reply)
        self.budgets.forwarded(client)
        # the deadline goes along when a client waits for the outcome; work the coordinator
        # has already committed to (deletions, clean-ups: no client) must not expire halfway
        expires = request.expires if client is not None else 0.0
        if not self._send(self.agents, agent.rid,
                          proto.encode(proto.req(request.op, args, rid, expires))):
            self.budgets.answered(self.pending.pop(rid).client)
            raise ProtoError("E_WORKER_LOST", f"agent {agent.name} is unreachable",
                             op=request.op)

    def publish(self, msg: proto.Message, frame: bytes, owner: bytes | None = None,
                account: str = "") -> None:
        """An event to PUB and to the client subscriptions it matches (``owner``, which has its
        copy already, is skipped; ``account`` is a call event's account)."""
        self.subs.fan_out(self, msg, frame, owner, account)
        if self.firehose is not None:
            self.firehose.publish(f"evt.{msg.op}.{msg.obj}".encode(), frame)

    # -- clients ----------------------------------------------------------------------------
    def on_client_frame(self, client: bytes, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError as exc:
            self.to_client(client, proto.error(None, exc))
            return
        if msg.kind != "req":
            return  # clients only send requests (heartbeats are ignored)
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
            self.execute(client, msg)

    def execute(self, client: bytes, msg: proto.Message) -> None:
        """Run one admitted client request (a retried id gets its first reply instead)."""
        verdict, first_reply = self.replies.begin(client, msg)
        if verdict != "run":  # a retried request id: never executed twice
            if verdict == "replay":
                self.delivery.send(client, first_reply, reply=True)
            return
        try:
            proto.check_expiry(msg, self.wall())
            proto.check_request(msg)
            handler = HANDLERS.get(msg.op)
            if handler is None:
                raise ProtoError("E_UNKNOWN_OP", f"the coordinator has no op {msg.op!r}", op=msg.op)
            self.access.check(self, client, msg)
            handler(self, client, msg)
        except ProtoError as exc:
            self.fail(client, msg, exc)
        except Exception as exc:  # a bug in a handler must not stop the coordinator
            print(f"coordinator: {msg.op} failed: {exc!r}", file=sys.stderr)
            self.fail(client, msg, ProtoError("E_INTERNAL", f"{type(exc).__name__}: {exc}"))

    # -- agents -----------------------------------------------------------------------------
    def on_agent_frame(self, rid: bytes, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError as exc:
            print(f"coordinator: bad frame from agent {rid!r}: {exc}", file=sys.stderr)
            return
        now = self.clock()
        if msg.kind == "req" and msg.op == "agent.hello":
            self.on_hello(rid, msg, now)
            return
        if msg.kind == "req" and msg.op == "agent.fatal":  # a host's FATAL listener
            try:
                proto.check_request(msg)
                reply = proto.ok(msg, fatal_report(self, msg))
            except ProtoError as exc:
                reply = proto.error(msg, exc)
            self._send(self.agents, rid, proto.encode(reply))
            return
        rec = self.registry.seen(rid, now)
        if rec is None:
            # unknown or lost agent: tell it to introduce itself; drop what it says meanwhile
            self._send(self.agents, rid, proto.encode(proto.hb({"known": False})))
            return
        if msg.kind == "req" and msg.op == "agent.bye":
            self.on_bye(rec, msg)
            return
        if rec.resetting and msg.kind == "evt":
            return  # about objects the coordinator forgot when it declared the agent lost
        if msg.kind == "hb":
            self.registry.heartbeat(rid, msg.data, now)
            if msg.data.get("state") == "draining" and not rec.draining:
                self.on_draining(rec, "its heartbeat says it is draining")
        elif msg.kind == "rep":
            self.on_agent_reply(rec, msg)
        elif msg.kind == "evt":
            self.on_agent_event(rec, msg, frame)

    def on_hello(self, rid: bytes, msg: proto.Message, now: float) -> None:
        """Admit an agent. One that holds calls or accounts the coordinator does not know (it was
        declared lost, or the coordinator restarted) is told to reset: it stays out of placement
        and its events are dropped until it says hello again holding nothing."""
        try:
            proto.check_request(msg)
            old = self.registry.by_name.get(msg.args["name"])
            if old is not None and old.alive and old.rid == rid:
                # a live agent says hello again: it heard nothing from us for a while, or it has
                # finished its reset; what it holds is still known here
                old.last_seen = now
                if old.resetting and not _holds(msg.args):
                    old.resetting = False
                self._send(self.agents, rid, proto.encode(proto.ok(msg, {
                    "coordinator": self.cid, "reset": old.resetting})))
                return
            if (old is not None and old.alive and old.rid != rid and old.host == msg.args["host"]
                    and old.pid != msg.args["pid"] and not self.watch.send(
                        old.rid, proto.encode(proto.hb({"coordinator": self.cid})), now)):
                # the same name from a new process on the same host, and the old one's connection
                # is gone: it was restarted by its supervisor; do not make the new one wait for
                # the timeout. (While the old one is still connected, the name is taken.)
                old.alive = False
                self.registry.by_rid.pop(old.rid, None)
                self.on_agent_lost(old, why=f"replaced by pid {msg.args['pid']}")
            rec = self.registry.admit(rid, msg.args, now)
        except ProtoError as exc:
            self._send(self.agents, rid, proto.encode(proto.error(msg, exc)))
            return
        rec.calls = len(self.objects.calls_on(rec.name))
        adopted = False
        if _holds(msg.args):
            held, why = self._adoptable(old, msg.args)
            if held is not None:
                self.adoption.adopt(self, rec.name, held)
                adopted = True
                print(f"coordinator: agent {rec.name}: adopted what it holds", file=sys.stderr)
            else:
                rec.resetting = True
                print(f"coordinator: agent {rec.name} holds objects this coordinator cannot "
                      f"adopt ({why}): told to reset", file=sys.stderr)
        self._send(self.agents, rid, proto.encode(proto.ok(msg, {
            "coordinator": self.cid, "reset": rec.resetting, "adopted": adopted})))
        agent_joined(self, rec)

    def _adoptable(self, old: AgentRecord | None,
                   hello: dict[str, Any]) -> tuple[Holdings | None, str]:
        """An agent's holdings to adopt, or None and why not. Not after this coordinator
        admitted (or lost) the agent: it ended or moved that agent's objects then."""
        if old is not None or hello.get("admitted_by") == self.cid:
            return None, "it was declared lost"
        if hello.get("holdings") is None:
            return None, "its hello lists no holdings"
        try:
            held = parse(hello["holdings"], hello.get("loads"))
        except BadHoldings as exc:
            return None, f"unreadable holdings: {exc}"
        why = conflict(self.objects, held, self.loads, hello["name"])
        return (None, why) if why else (held, "")

    def on_bye(self, rec: AgentRecord, msg: proto.Message) -> None:
        """``leaving``: place nothing more there, move its accounts, fail what waits on it (it
        reads no more requests). ``gone``: its last message; forget it now."""
        try:
            proto.check_request(msg)
        except ProtoError:
            return
        reason = msg.args.get("reason") or "shutdown"
        if msg.args["stage"] == "leaving":
            if not rec.leaving:
                rec.leaving = True
                print(f"coordinator: agent {rec.name} is "
                      f"{'recycling' if reason == 'recycle' else 'shutting down'}", file=sys.stderr)
                self._fail_agent_pending(rec.name, "is shutting down")
                self.recovery.agent_gone(self, rec.name, reason)
            return
        rec.alive = False
        self.registry.by_rid.pop(rec.rid, None)
        self.watch.forget(rec.rid)
        if reason == "recycle":
            self.registry.recycled(rec, self.clock())
        self.on_agent_lost(rec, reason, why="said goodbye")

    def on_draining(self, rec: AgentRecord, why: str) -> None:
        """The agent found leaked resources and drains before it restarts itself: nothing more
        is placed on it, its accounts move now (its live calls go on until they end)."""
        rec.draining = why
        print(f"coordinator: agent {rec.name} drains before it recycles: {why}", file=sys.stderr)
        self.recovery.agent_gone(self, rec.name, "recycle")

    def on_agent_reply(self, rec: AgentRecord, msg: proto.Message) -> None:
        pend = self.pending.pop(msg.id, None)
        if pend is None:
            return  # late reply to a request that already timed out
        self.budgets.answered(pend.client)
        if pend.on_reply is not None:
            pend.on_reply(msg)
            return
        msg.id = pend.request.id
        self.to_client(pend.client, msg)

    def on_agent_event(self, rec: AgentRecord, msg: proto.Message, frame: bytes) -> None:
        try:
            proto.check_event(msg)
        except ProtoError as exc:
            print(f"coordinator: bad event from {rec.name}: {exc}", file=sys.stderr)
            return
        owner: bytes | None = None
        account = ""
        objects = self.objects
        if msg.op == "acc.incoming_call":
            acc = objects.accounts.get(msg.obj)
            if acc is None:
                return
            owner = acc.owner
            frame = renumber(msg, acc)
            gid = msg.data["call"]
            objects.calls[gid] = CallRec(gid, owner, rec.name, acc.gid, state="INCOMING")
            rec.calls += 1
        elif msg.op.startswith("acc."):  # reg_state, pager, ...: to the account's owner
            acc = objects.accounts.get(msg.obj)
            if acc is None:
                return
            owner = acc.owner
            frame = renumber(msg, acc)
        elif msg.op.startswith("call."):
            call = objects.calls.get(msg.obj)
            if call is None:
                return
            owner, account = call.owner, call.acc
            call.last_seq = msg.seq
            if msg.op in ("call.transfer_request", "call.replace_request") and \
                    msg.data["new_call"]:
                # the call that the accepted REFER makes, or the one that replaces this call
                # (INVITE with Replaces): same owner, account and agent
                new = msg.data["new_call"]
                objects.calls[new] = CallRec(new, owner, rec.name, call.acc, state="CALLING")
                rec.calls += 1
            if msg.op == "call.state":
                call.state = msg.data["state"]
                if call.state == "DISCONNECTED":
                    self.end_call(call)
        elif msg.op.startswith("media."):  # player_eof: to the object's owner
            rec_media = objects.media.get(msg.obj)
            if rec_media is None:
                return
            owner = rec_media.owner
        elif msg.op == "load.stats":
            run = self.loads.get(msg.obj)
            if run is not None:
                run.on_report(rec.name, msg.seq, msg.data, self.clock())
                # not in the run's sequence: its owner never gets them (subscribers may), and a
                # numbered event it never gets would look lost to it
                msg.seq = 0
                frame = proto.encode(msg)
        elif msg.op == "agent.error":
            print(f"coordinator: agent {rec.name}: {msg.data.get('msg')}", file=sys.stderr)
        elif msg.op == "agent.draining" and not rec.draining:
            self.on_draining(rec, str(msg.data["why"]))
        if owner is not None:
            self.delivery.send(owner, frame)
        self.publish(msg, frame, owner, account)

    def end_call(self, call: CallRec) -> None:
        self.objects.calls.pop(call.gid, None)
        agent = self.registry.by_name.get(call.agent)
        if agent is not None:
            agent.calls = max(0, agent.calls - 1)

    def on_agent_lost(self, rec: AgentRecord, reason: str = "worker_lost", why: str = "") -> None:
        """Every call the agent held ends with one DISCONNECTED event with ``reason``; its pending
        requests fail; the accounts it was home to move to other agents."""
        print(f"coordinator: agent {rec.name} {'lost' if reason == 'worker_lost' else 'gone'}"
              f"{f' ({why})' if why else ''}", file=sys.stderr)
        # pending requests first: a call.make still in flight there ends with its error reply
        # alone, never also with an event about a call the client was never given
        self._fail_agent_pending(rec.name, "was lost" if reason == "worker_lost" else "is gone")
        for call in self.objects.calls_on(rec.name):
            self.end_call(call)
            ev = proto.evt("call.state", call.gid, call.last_seq + 1, {
                "state": "DISCONNECTED", "code": 0, "reason": reason, "remote_uri": "",
                "call_id": "", "role": "", "agent": rec.name})
            frame = proto.encode(ev)
            self.delivery.send(call.owner, frame)
            self.publish(ev, frame, call.owner, call.acc)
        self.objects.drop_media_on(rec.name)
        for run in self.loads.values():
            run.agent_lost(rec.name)
        self.recovery.agent_gone(self, rec.name, reason)

    def _fail_agent_pending(self, name: str, why: str) -> None:
        for rid, pend in list(self.pending.items()):
            if pend.agent == name:
                del self.pending[rid]
                err = ProtoError("E_WORKER_LOST", f"agent {name} {why}", op=pend.request.op)
                self._fail_pending(pend, err)

    def _fail_pending(self, pend: Pending, exc: ProtoError) -> None:
        self.budgets.answered(pend.client)
        if pend.on_reply is not None:
            pend.on_reply(proto.error(pend.request, exc))
        else:
            self.fail(pend.client, pend.request, exc)

    # -- the loop ---------------------------------------------------------------------------
    def housekeeping(self, now: float) -> None:
        beat_due = now >= self._next_hb
        if beat_due or self.watch.probe_due(now):  # a probe is a heartbeat too
            if beat_due:
                self._next_hb = now + limits.HEARTBEAT_S
            beat = proto.encode(proto.hb({"coordinator": self.cid}))
            for rec in self.registry.live():
                if not self.watch.send(rec.rid, beat, now):
                    self.dropped += 1
        for lost_rid in self.watch.lost():  # its connection closed and it did not come back
            gone = self.registry.by_rid.pop(lost_rid, None)
            if gone is not None and gone.alive:
                gone.alive = False
                self.on_agent_lost(gone, why="its connection closed")
        for rec in self.registry.expire(now):
            self.watch.forget(rec.rid)
            self.on_agent_lost(rec, why=f"silent for {now - rec.last_seen:.1f} s")
        if now >= self._next_trim:  # give back what a burst left in the allocator
            self._next_trim = now + TRIM_EVERY_S
            memory.trim()
        self.adoption.tick(self, now)
        self.recovery.tick(self, now)
        self.delivery.flush(now)
        upkeep(self, now)
        for rid, pend in list(self.pending.items()):
            if now > pend.deadline:
                del self.pending[rid]
                self._fail_pending(pend, ProtoError(
                    "E_TIMEOUT", f"agent {pend.agent} did not answer in {AGENT_REPLY_S:g} s",
                    op=pend.request.op))

    def enable_metrics(self, host: str, port: int) -> int:
        """Serve Prometheus /metrics on host:port from this loop; returns the bound port."""
        self.metrics = MetricsServer(host, port)
        self._poller.register(self.metrics, zmq.POLLIN)
        return self.metrics.port

    def turn(self, timeout_ms: int) -> None:
        events = dict(self._poller.poll(timeout_ms))
        if self.metrics is not None and self.metrics.fileno() in events:  # raw fds come back as ints
            self.metrics.serve_one(self)
        if self.watch.sock in events:
            self.watch.on_monitor(self.clock())
        if self.firehose is not None and self.firehose.monitor in events \
                and self.firehose.on_monitor():
            memory.trim()  # a subscriber's queue went with its connection: give it back
        if self.zap is not None and self.zap in events:
            self.on_zap(self.zap)
        # small batches from each socket in turn: a flood on one delays others by a batch at most
        ready = [(sock, handler) for sock, handler in ((self.agents, self.on_agent_frame),
                                                       (self.clients, self.on_client_frame))
                 if sock in events]
        budget = TURN_MAX
        while budget > 0:
            for entry in list(ready):
                read = self._read_batch(*entry)
                budget -= read
                if read < BATCH:
                    ready.remove(entry)
            ran = 0  # then requests that waited for their connection's budget
            while ran < BATCH and (held := self.budgets.next_ready()) is not None:
                self.execute(*held)
                ran += 1
            budget -= ran
            if not ready and not ran:
                break
        self.housekeeping(self.clock())

    def _read_batch(self, sock: zmq.Socket[bytes],
                    handler: Callable[[bytes, bytes], None]) -> int:
        """Handle up to BATCH messages waiting on ``sock``; returns how many there were."""
        for n in range(BATCH):
            try:
                parts = self._recv(sock)
            except zmq.Again:
                return n
            if len(parts) == 2:
                handler(parts[0], parts[1])
            elif parts:
                self._send(sock, parts[0], proto.encode(proto.error(None, ProtoError(
                    "E_BAD_MSG", "one frame per message is expected"))))
        return BATCH

    def on_zap(self, zap: zmq.Socket[bytes]) -> None:
        """Answer the pending ZAP requests (one per handshake of a CURVE socket, and of the
        firehose) from the allow-lists and the firehose's subscriber cap."""
        while True:
            try:
                request = zap.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            reply = zap_reply(request, self.keys,
                              self.firehose.room if self.firehose is not None else None)
            if reply[2] != b"200":
                domain, peer = (x.decode("utf-8", "replace") for x in (request + [b"?"] * 4)[2:4])
                count = self.refusals.note(domain, peer, self.clock())
                if count:
                    print(f"coordinator: refused a connection to {domain} from {peer}: "
                          f"{reply[3].decode()} ({count} since the last report)",
                          file=sys.stderr, flush=True)
            zap.send_multipart(reply)

    def _recv(self, sock: zmq.Socket[bytes]) -> list[bytes]:
        """One message's frames; with CURVE, a client connection's authenticated key (the ZAP
        User-Id of its frames) is recorded for the access rules."""
        if self.keys is None or sock is not self.clients:
            return sock.recv_multipart(zmq.NOBLOCK)
        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
        parts = [f.bytes for f in frames]
        if len(parts) >= 2:
            self.access.seen(self, parts[0], str(frames[-1].get("User-Id")))
        return parts

    def run(self) -> None:
        while not self.stopping:
            self.turn(0 if self.budgets.ready else 100)
