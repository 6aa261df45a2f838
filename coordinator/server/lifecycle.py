"""Agents' lives as the coordinator sees them: admission (hello, and adoption of what a
restarted coordinator's agents hold), heartbeats both ways, draining, goodbye, and loss (a
closed connection, or silence), after which every call the agent held ends at its owner and the
accounts it was home to move elsewhere."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.adoption import BadHoldings, Holdings, conflict, parse
from coordinator.server.load.steering import close_the_ring, rejoin
from coordinator.server.registry import AgentRecord
from proto import ProtoError, limits

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")

#: how often silent agents are looked for (each look reads every agent's last sign of life);
#: an agent is declared lost at most this much later than its silence allows
EXPIRE_EVERY_S = 0.1


def holds(hello: dict[str, Any]) -> bool:
    """An agent's hello says it holds objects (calls, accounts, media objects, load runs)."""
    return bool(hello.get("calls") or hello.get("accounts") or hello.get("media")
                or hello.get("holdings"))


class Lifecycle:
    def __init__(self) -> None:
        self._next_hb = 0.0
        self._next_expire = 0.0

    # -- frames from the agents socket ----------------------------------------------------
    def on_agent_frame(self, server: Coordinator, rid: bytes, frame: bytes) -> None:
        try:
            msg = proto.decode(frame)
        except ProtoError as exc:
            log.warning("bad frame from agent %r: %s", rid, exc)
            return
        now = server.clock()
        if msg.kind == "req" and msg.op in ("agent.hello", "agent.fatal"):
            handler = self.on_hello if msg.op == "agent.hello" else self.on_fatal
            handler(server, rid, msg, now)
            if isinstance(msg.args.get("name"), str):
                server.capacity.touch(msg.args["name"])
            return
        rec = server.registry.seen(rid, now)
        if rec is not None:
            # whatever an agent says may change its free slots (its load, its calls' ends, its
            # state): placement's index re-reads it at the next call
            server.capacity.touch(rec.name)
        if rec is None:
            # unknown or lost agent: tell it to introduce itself; drop what it says meanwhile
            server.sockets.send(server.sockets.agents, rid, proto.encode(proto.hb({"known": False})))
            return
        if msg.kind == "req" and msg.op == "agent.bye":
            self.on_bye(server, rec, msg)
        elif rec.resetting and msg.kind == "evt":
            return  # about objects the coordinator forgot when it declared the agent lost
        elif msg.kind == "hb":
            server.registry.heartbeat(rid, msg.data, now)
            if msg.data.get("state") == "draining" and not rec.draining:
                self.on_draining(server, rec, "its heartbeat says it is draining")
        elif msg.kind == "rep":
            server.pipeline.on_agent_reply(msg)
        elif msg.kind == "evt":
            server.events.on_agent_event(server, rec, msg, frame)

    def on_fatal(self, server: Coordinator, rid: bytes, msg: proto.Message, now: float) -> None:
        """A host's FATAL listener (it speaks on the agents socket, with its host's agent key)."""
        try:
            proto.check_request(msg)
            reply = proto.ok(msg, fatal_report(server, msg))
        except ProtoError as exc:
            reply = proto.error(msg, exc)
        server.sockets.send(server.sockets.agents, rid, proto.encode(reply))

    def on_hello(self, server: Coordinator, rid: bytes, msg: proto.Message, now: float) -> None:
        """Admit an agent. One that holds calls or accounts the coordinator does not know (it was
        declared lost, or the coordinator restarted) is told to reset: it stays out of placement
        and its events are dropped until it says hello again holding nothing."""
        try:
            proto.check_request(msg)
            old = server.registry.by_name.get(msg.args["name"])
            if old is not None and old.alive and old.rid == rid:
                # a live agent says hello again: it heard nothing from us for a while, or it has
                # finished its reset; what it holds is still known here
                old.last_seen = now
                if old.resetting and not holds(msg.args):
                    old.resetting = False
                self._answer(server, rid, msg, {"reset": old.resetting})
                return
            if old is not None and old.alive and self._replaced(server, old, rid, msg.args, now):
                self.on_agent_lost(server, old, why=f"replaced by pid {msg.args['pid']}")
            rec = server.registry.admit(rid, msg.args, now)
        except ProtoError as exc:
            server.sockets.send(server.sockets.agents, rid, proto.encode(proto.error(msg, exc)))
            return
        adopted = False
        if holds(msg.args):
            held, why = self._adoptable(server, old, msg.args)
            if held is not None:
                server.adoption.adopt(server, rec.name, held)
                adopted = True
                log.info("agent %s: adopted what it holds", rec.name)
            else:
                rec.resetting = True
                log.warning("agent %s holds objects this coordinator cannot adopt (%s): told to "
                            "reset", rec.name, why)
        self._answer(server, rid, msg, {"reset": rec.resetting, "adopted": adopted})
        agent_joined(server, rec)

    @staticmethod
    def _answer(server: Coordinator, rid: bytes, msg: proto.Message, result: dict[str, Any]) -> None:
        server.sockets.send(server.sockets.agents, rid, proto.encode(proto.ok(msg, {
            "coordinator": server.cid, **result})))

    @staticmethod
    def _replaced(server: Coordinator, old: AgentRecord, rid: bytes, hello: dict[str, Any],
                  now: float) -> bool:
        """The same name from a new process on the same host, and the old one's connection is
        gone: it was restarted by its supervisor; do not make the new one wait for the timeout.
        (While the old one is still connected, the name is taken.)"""
        if old.rid == rid or old.host != hello["host"] or old.pid == hello["pid"]:
            return False
        if server.sockets.watch.send(old.rid, proto.encode(proto.hb({"coordinator": server.cid})), now):
            return False
        old.alive = False
        server.registry.by_rid.pop(old.rid, None)
        return True

    def _adoptable(self, server: Coordinator, old: AgentRecord | None,
                   hello: dict[str, Any]) -> tuple[Holdings | None, str]:
        """An agent's holdings to adopt, or None and why not. Not after this coordinator
        admitted (or lost) the agent: it ended or moved that agent's objects then."""
        if old is not None or hello.get("admitted_by") == server.cid:
            return None, "it was declared lost"
        if hello.get("holdings") is None:
            return None, "its hello lists no holdings"
        try:
            held = parse(hello["holdings"], hello.get("loads"))
        except BadHoldings as exc:
            return None, f"unreadable holdings: {exc}"
        why = conflict(server.objects, held, server.loads, hello["name"])
        return (None, why) if why else (held, "")

    def on_bye(self, server: Coordinator, rec: AgentRecord, msg: proto.Message) -> None:
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
                log.info("agent %s is %s", rec.name,
                         "recycling" if reason == "recycle" else "shutting down")
                server.pipeline.fail_agent_pending(rec.name, "is shutting down")
                server.recovery.agent_gone(server, rec.name, reason)
            return
        rec.alive = False
        server.registry.by_rid.pop(rec.rid, None)
        server.sockets.watch.forget(rec.rid)
        if reason == "recycle":
            server.registry.recycled(rec, server.clock())
        self.on_agent_lost(server, rec, reason, why="said goodbye")

    def on_draining(self, server: Coordinator, rec: AgentRecord, why: str) -> None:
        """The agent found leaked resources and drains before it restarts itself: nothing more
        is placed on it, its accounts move now (its live calls go on until they end)."""
        rec.draining = why
        log.warning("agent %s drains before it recycles: %s", rec.name, why)
        server.recovery.agent_gone(server, rec.name, "recycle")

    def on_agent_lost(self, server: Coordinator, rec: AgentRecord, reason: str = "worker_lost",
                      why: str = "") -> None:
        """Every call the agent held ends with one DISCONNECTED event with ``reason``; its pending
        requests fail; the accounts it was home to move to other agents."""
        # a loss is news; an agent that said goodbye (shut down, restarting) is not
        log.log(logging.WARNING if reason == "worker_lost" else logging.INFO, "agent %s %s%s",
                rec.name, "lost" if reason == "worker_lost" else "gone",
                f" ({why})" if why else "")
        server.capacity.touch(rec.name)  # out of placement
        # pending requests first: a call.make still in flight there ends with its error reply
        # alone, never also with an event about a call the client was never given
        server.pipeline.fail_agent_pending(rec.name, "was lost" if reason == "worker_lost"
                                           else "is gone")
        for call in server.objects.calls_on(rec.name):
            server.objects.drop_call(call.gid)
            ev = proto.evt("call.state", call.gid, call.last_seq + 1, {
                "state": "DISCONNECTED", "code": 0, "reason": reason, "remote_uri": "",
                "call_id": "", "role": "", "agent": rec.name})
            frame = proto.encode(ev)
            server.events.send_frame(call.owner, frame)
            server.events.publish(ev, frame, call.owner, call.acc)
        server.objects.drop_media_on(rec.name)
        for run in server.loads.values():
            run.agent_lost(rec.name)
            close_the_ring(server, run, rec.name)
        server.recovery.agent_gone(server, rec.name, reason)

    # -- from the loop --------------------------------------------------------------------
    def tick(self, server: Coordinator, now: float) -> None:
        """Heartbeats (and probes) to the live agents; agents whose connection closed, or that
        fell silent, are lost."""
        watch = server.sockets.watch
        beat_due = now >= self._next_hb
        if beat_due or watch.probe_due(now):  # a probe is a heartbeat too
            if beat_due:
                self._next_hb = now + limits.HEARTBEAT_S
            beat = proto.encode(proto.hb({"coordinator": server.cid}))
            for rec in server.registry.live():
                if not watch.send(rec.rid, beat, now):
                    server.sockets.dropped += 1
        for lost_rid in watch.lost():  # its connection closed and it did not come back
            gone = server.registry.by_rid.pop(lost_rid, None)
            if gone is not None and gone.alive:
                gone.alive = False
                self.on_agent_lost(server, gone, why="its connection closed")
        if now < self._next_expire:
            return
        self._next_expire = now + EXPIRE_EVERY_S  # a scan of every agent: not at every turn
        for rec in server.registry.expire(now):
            watch.forget(rec.rid)
            self.on_agent_lost(server, rec, why=f"silent for {now - rec.last_seen:.1f} s")


def fatal_report(server: Coordinator, msg: proto.Message) -> dict[str, Any]:
    """A supervisord gave up on a process: the operator must look (logged). Returns the reply's
    result; the request came on the agents socket or from an admin client."""
    a = msg.args
    rec = server.registry.by_name.get(a["name"])
    log.error("supervisord on %r reports %s:%s FATAL (from %s): it will not be restarted",
              a["host"], a["group"], a["name"], a["from_state"])
    return {"known": rec is not None, "alive": rec is not None and rec.alive}


def agent_joined(server: Coordinator, agent: AgentRecord) -> None:
    """Give a newly admitted agent the codec priorities set for the whole fleet, and the part
    of each live load run that the agent it replaces had."""
    rejoin(server, agent)
    for codec, priority in server.codec_priorities.items():
        args: dict[str, Any] = {"codec": codec, "priority": priority}
        req = proto.req("lib.set_codec_priority", args, f"codecs-{agent.name}")
        try:
            server.pipeline.forward(None, req, agent, args, lambda rep: None)
        except ProtoError:
            return  # unreachable already: it will join again
