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
from typing import Any

import zmq

import proto
from coordinator.handlers import HANDLERS as BASE_HANDLERS
from coordinator.load_handlers import LOAD_HANDLERS, upkeep
from coordinator.loadctl import LoadRun
from coordinator.objects import CallRec, ObjectTable
from coordinator.registry import AgentRecord, Registry
from coordinator.subscribe import Subscribers
from proto import ProtoError, limits

HANDLERS = {**BASE_HANDLERS, **LOAD_HANDLERS}

#: seconds an agent has to answer a forwarded request
AGENT_REPLY_S = 10.0

OnReply = Callable[[proto.Message], None]


@dataclass
class Pending:
    """A request forwarded to an agent, waiting for its reply."""

    client: bytes | None
    request: proto.Message
    agent: str
    deadline: float
    on_reply: OnReply | None = None


def _router(ctx: zmq.Context[zmq.Socket[bytes]], url: str) -> zmq.Socket[bytes]:
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.SNDHWM, 100000)
    sock.setsockopt(zmq.RCVHWM, 100000)
    sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
    sock.bind(url)
    return sock


class Coordinator:
    def __init__(self, agents_url: str, clients_url: str, events_url: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 lost_after_s: float = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.agents = _router(self.ctx, agents_url)
        self.clients = _router(self.ctx, clients_url)
        self.pub: zmq.Socket[bytes] | None = None
        if events_url:
            self.pub = self.ctx.socket(zmq.PUB)
            self.pub.setsockopt(zmq.LINGER, 0)
            self.pub.setsockopt(zmq.SNDHWM, 100000)
            self.pub.bind(events_url)
        self.clock = clock
        self.cid = secrets.token_hex(4)
        self.registry = Registry(lost_after_s=lost_after_s)
        self.objects = ObjectTable()
        self.pending: dict[str, Pending] = {}
        self.loads: dict[str, LoadRun] = {}
        self.subs = Subscribers()
        self._runs = itertools.count(1)
        self.dropped = 0
        self.stopping = False
        self._rids = itertools.count(1)
        self._next_hb = 0.0
        self._poller = zmq.Poller()
        self._poller.register(self.agents, zmq.POLLIN)
        self._poller.register(self.clients, zmq.POLLIN)

    def endpoints(self) -> dict[str, str]:
        """The URLs actually bound (ports chosen by the OS when asked for port 0 or *)."""
        out = {"agents": self.agents.getsockopt_string(zmq.LAST_ENDPOINT),
               "clients": self.clients.getsockopt_string(zmq.LAST_ENDPOINT)}
        if self.pub is not None:
            out["events"] = self.pub.getsockopt_string(zmq.LAST_ENDPOINT)
        return out

    def close(self) -> None:
        for sock in (self.agents, self.clients, self.pub):
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
            self._send(self.clients, client, proto.encode(msg))

    def send_frame_to_client(self, client: bytes, frame: bytes) -> None:
        self._send(self.clients, client, frame)

    def next_run_number(self) -> int:
        return next(self._runs)

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
        if not self._send(self.agents, agent.rid, proto.encode(proto.req(request.op, args, rid))):
            self.pending.pop(rid)
            raise ProtoError("E_WORKER_LOST", f"agent {agent.name} is unreachable",
                             op=request.op)

    def publish(self, msg: proto.Message, frame: bytes, owner: bytes | None = None,
                account: str = "") -> None:
        """An event to PUB and to the client subscriptions it matches (``owner``, which has its
        copy already, is skipped; ``account`` is a call event's account)."""
        self.subs.fan_out(self, msg, frame, owner, account)
        if self.pub is not None:
            try:
                self.pub.send_multipart([f"evt.{msg.op}.{msg.obj}".encode(), frame], zmq.NOBLOCK)
            except zmq.Again:
                self.dropped += 1

    # -- clients ----------------------------------------------------------------------------
    def on_client_frame(self, client: bytes, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError as exc:
            self.to_client(client, proto.error(None, exc))
            return
        if msg.kind != "req":
            return  # clients only send requests (heartbeats are ignored)
        try:
            proto.check_request(msg)
            handler = HANDLERS.get(msg.op)
            if handler is None:
                raise ProtoError("E_UNKNOWN_OP", f"the coordinator has no op {msg.op!r}", op=msg.op)
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
        rec = self.registry.seen(rid, now)
        if rec is None:
            # unknown or lost agent: tell it to introduce itself; drop what it says meanwhile
            self._send(self.agents, rid, proto.encode(proto.hb({"known": False})))
            return
        if msg.kind == "hb":
            self.registry.heartbeat(rid, msg.data, now)
        elif msg.kind == "rep":
            self.on_agent_reply(rec, msg)
        elif msg.kind == "evt":
            self.on_agent_event(rec, msg, frame)

    def on_hello(self, rid: bytes, msg: proto.Message, now: float) -> None:
        try:
            proto.check_request(msg)
            old = self.registry.by_name.get(msg.args["name"])
            if (old is not None and old.alive and old.rid != rid and old.host == msg.args["host"]
                    and old.pid != msg.args["pid"]):
                # the same name from a new process on the same host: the old one is gone
                # (restarted by its supervisor); do not make the new one wait for the timeout
                old.alive = False
                self.registry.by_rid.pop(old.rid, None)
                self.on_agent_lost(old)
            rec = self.registry.admit(rid, msg.args, now)
        except ProtoError as exc:
            self._send(self.agents, rid, proto.encode(proto.error(msg, exc)))
            return
        rec.calls = len(self.objects.calls_on(rec.name))
        self._send(self.agents, rid, proto.encode(proto.ok(msg, {"coordinator": self.cid})))

    def on_agent_reply(self, rec: AgentRecord, msg: proto.Message) -> None:
        pend = self.pending.pop(msg.id, None)
        if pend is None:
            return  # late reply to a request that already timed out
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
            gid = msg.data["call"]
            objects.calls[gid] = CallRec(gid, owner, rec.name, acc.gid, state="INCOMING")
            rec.calls += 1
        elif msg.op.startswith("call."):
            call = objects.calls.get(msg.obj)
            if call is None:
                return
            owner, account = call.owner, call.acc
            call.last_seq = msg.seq
            if msg.op == "call.state":
                call.state = msg.data["state"]
                if call.state == "DISCONNECTED":
                    self.end_call(call)
        elif msg.op == "load.stats":
            run = self.loads.get(msg.obj)
            if run is not None:
                run.on_stats(rec.name, msg.data, self.clock())
        elif msg.op == "agent.error":
            print(f"coordinator: agent {rec.name}: {msg.data.get('msg')}", file=sys.stderr)
        if owner is not None:
            self._send(self.clients, owner, frame)
        self.publish(msg, frame, owner, account)

    def end_call(self, call: CallRec) -> None:
        self.objects.calls.pop(call.gid, None)
        agent = self.registry.by_name.get(call.agent)
        if agent is not None:
            agent.calls = max(0, agent.calls - 1)

    def on_agent_lost(self, rec: AgentRecord) -> None:
        """Every call the agent held ends with reason worker_lost; its pending requests fail."""
        print(f"coordinator: agent {rec.name} lost", file=sys.stderr)
        for call in self.objects.calls_on(rec.name):
            self.end_call(call)
            ev = proto.evt("call.state", call.gid, call.last_seq + 1, {
                "state": "DISCONNECTED", "code": 0, "reason": "worker_lost", "remote_uri": "",
                "call_id": "", "role": "", "agent": rec.name})
            frame = proto.encode(ev)
            self._send(self.clients, call.owner, frame)
            self.publish(ev, frame, call.owner, call.acc)
        for acc in self.objects.accounts.values():
            acc.replicas.discard(rec.name)
        for run in self.loads.values():
            run.agent_lost(rec.name)
        for rid, pend in list(self.pending.items()):
            if pend.agent == rec.name:
                del self.pending[rid]
                err = ProtoError("E_WORKER_LOST", f"agent {rec.name} was lost", op=pend.request.op)
                self._fail_pending(pend, err)

    def _fail_pending(self, pend: Pending, exc: ProtoError) -> None:
        if pend.on_reply is not None:
            pend.on_reply(proto.error(pend.request, exc))
        else:
            self.fail(pend.client, pend.request, exc)

    # -- the loop ---------------------------------------------------------------------------
    def housekeeping(self, now: float) -> None:
        if now >= self._next_hb:
            self._next_hb = now + limits.HEARTBEAT_S
            beat = proto.encode(proto.hb({"coordinator": self.cid}))
            for rec in self.registry.live():
                self._send(self.agents, rec.rid, beat)
        for rec in self.registry.expire(now):
            self.on_agent_lost(rec)
        upkeep(self, now)
        for rid, pend in list(self.pending.items()):
            if now > pend.deadline:
                del self.pending[rid]
                self._fail_pending(pend, ProtoError(
                    "E_TIMEOUT", f"agent {pend.agent} did not answer in {AGENT_REPLY_S:g} s",
                    op=pend.request.op))

    def turn(self, timeout_ms: int) -> None:
        events = dict(self._poller.poll(timeout_ms))
        for sock, handler in ((self.agents, self.on_agent_frame), (self.clients, self.on_client_frame)):
            if sock not in events:
                continue
            for _ in range(1000):
                try:
                    parts = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if len(parts) == 2:
                    handler(parts[0], parts[1])
                elif parts:
                    self._send(sock, parts[0], proto.encode(proto.error(None, ProtoError(
                        "E_BAD_MSG", "one frame per message is expected"))))
        self.housekeeping(self.clock())

    def run(self) -> None:
        while not self.stopping:
            self.turn(100)
