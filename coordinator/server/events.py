"""Event routing: every event an agent sends goes to the client that owns its object, to the
subscriptions it matches, and to the PUB firehose, in the order the agent sent them. One table
says, for each event, whose it is and what the coordinator learns from it (a call's state, a new
call, a run's counters); events of an account or a run are numbered anew by the coordinator
(several agents send them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import proto
from coordinator.server.delivery import Delivery
from coordinator.server.firehose import Firehose
from coordinator.server.objects import CallRec, ObjectTable
from coordinator.server.registry import AgentRecord
from coordinator.server.subscriptions import Subscribers
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")


class Numbered(Protocol):
    seq: int


def renumber(msg: proto.Message, obj: Numbered) -> bytes:
    """Give an agent's event the next number of ``obj``'s sequence (an account's events come
    from every agent holding a replica, a run's from every agent in it): the frame to forward."""
    obj.seq += 1
    msg.seq = obj.seq
    return proto.encode(msg)


@dataclass
class Route:
    """Where an event goes: its owner (None: nobody's), the account its subscriptions match,
    and the frame to send (renumbered or not)."""

    owner: bytes | None
    account: str
    frame: bytes


#: what the coordinator does with one event from an agent: its route, or None to drop it
Handler = Callable[["Coordinator", AgentRecord, proto.Message, bytes], "Route | None"]


def _account_event(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                   frame: bytes) -> Route | None:
    """reg_state, pager, ...: to the account's owner, in the account's numbering."""
    acc = server.objects.accounts.get(msg.obj)
    if acc is None:
        return None
    if msg.op == "acc.incoming_call":
        gid = msg.data["call"]
        server.objects.add_call(CallRec(gid, acc.owner, rec.name, acc.gid, state="INCOMING",
                                        persistent=acc.persistent))
    return Route(acc.owner, "", renumber(msg, acc))


def _call_event(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                frame: bytes) -> Route | None:
    call = server.objects.calls.get(msg.obj)
    if call is None:
        return None
    call.last_seq = msg.seq
    if msg.op in ("call.transfer_request", "call.replace_request") and msg.data["new_call"]:
        # the call that the accepted REFER makes, or the one that replaces this call (INVITE
        # with Replaces): same owner, account and agent
        new = msg.data["new_call"]
        server.objects.add_call(CallRec(new, call.owner, rec.name, call.acc, state="CALLING",
                                        persistent=call.persistent))
    if msg.op == "call.state":
        call.state = msg.data["state"]
        if call.state == "DISCONNECTED":
            server.objects.drop_call(call.gid)
    return Route(call.owner, call.acc, frame)


def _media_event(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                 frame: bytes) -> Route | None:
    """player_eof: to the object's owner."""
    media = server.objects.media.get(msg.obj)
    return Route(media.owner, "", frame) if media is not None else None


def _load_stats(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                frame: bytes) -> Route | None:
    run = server.loads.get(msg.obj)
    if run is not None:
        run.on_report(rec.name, msg.seq, msg.data, server.clock())
        if not server.events.listened():
            return None  # one report per agent per second: not encoded again for nobody
        # not in the run's sequence: its owner never gets them (subscribers may), and a
        # numbered event it never gets would look lost to it
        msg.seq = 0
        frame = proto.encode(msg)
    return Route(None, "", frame)


def _agent_error(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                 frame: bytes) -> Route | None:
    log.warning("agent %s: %s", rec.name, msg.data.get("msg"))
    return Route(None, "", frame)


def _agent_draining(server: Coordinator, rec: AgentRecord, msg: proto.Message,
                    frame: bytes) -> Route | None:
    if not rec.draining:
        server.lifecycle.on_draining(server, rec, str(msg.data["why"]))
    return Route(None, "", frame)


def _table() -> dict[str, Handler]:
    """Each event agents send, by its group; the coordinator's own events (load.progress,
    load.done, acc.moved, events.gap) never come from agents and are dropped if they do."""
    by_group: dict[str, Handler] = {"account": _account_event, "buddy": _account_event,
                                    "call": _call_event, "media": _media_event}
    table = {name: by_group[spec.group] for name, spec in proto.EVENTS.items()
             if spec.group in by_group and name != "acc.moved"}
    table.update({"load.stats": _load_stats, "agent.error": _agent_error,
                  "agent.draining": _agent_draining})
    return table


HANDLERS: dict[str, Handler] = _table()


class Events:
    def __init__(self, delivery: Delivery, subs: Subscribers, objects: ObjectTable,
                 firehose: Firehose | None) -> None:
        self.delivery = delivery
        self.subs = subs
        self.objects = objects
        self.firehose = firehose

    def on_agent_event(self, server: Coordinator, rec: AgentRecord, msg: proto.Message,
                       frame: bytes) -> None:
        try:
            proto.check_event(msg)
        except ProtoError as exc:
            log.warning("bad event from %s: %s", rec.name, exc)
            return
        handler = HANDLERS.get(msg.op)
        route = handler(server, rec, msg, frame) if handler is not None else None
        if route is None:
            return
        if route.owner is not None:
            self.delivery.send(route.owner, route.frame)
        self.publish(msg, route.frame, route.owner, route.account)

    def listened(self) -> bool:
        """Whether any connection may get a published event: a client subscription, or a
        subscriber admitted to the firehose (one that connects meanwhile misses a few events, as
        with any PUB socket)."""
        return bool(self.subs.table.by_conn) or (self.firehose is not None
                                                 and self.firehose.subscribers > 0)

    def publish(self, msg: proto.Message, frame: bytes, owner: bytes | None = None,
                account: str = "") -> None:
        """An event to PUB and to the client subscriptions it matches (``owner``, which has its
        copy already, is skipped; ``account`` is a call event's account)."""
        self.subs.fan_out(self.delivery, self.objects.calls, msg, frame, owner, account)
        if self.firehose is not None:
            self.firehose.publish(f"evt.{msg.op}.{msg.obj}".encode(), frame)

    def send_frame(self, client: bytes, frame: bytes) -> str:
        """``frame`` to one client connection: ``ok``, ``full`` or ``gone`` (see Delivery)."""
        return self.delivery.send(client, frame)
