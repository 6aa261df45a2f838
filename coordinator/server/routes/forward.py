"""The generic route of the ops the coordinator only forwards (``route="forward"`` in their spec):
to the agent holding the object the op is about, unchanged; the agent's reply goes back to the
client. Which agent, by the op's target: a call's agent, an account's home agent (where it
registers, and its buddies live), a media object's agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.server.objects import AccountRec, MediaRec
from coordinator.server.pipeline import Route
from coordinator.server.registry import AgentRecord
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


def home_agent(server: Coordinator, acc: AccountRec, op: str) -> AgentRecord:
    """The account's home agent, alive and holding it."""
    agent = server.registry.by_name.get(acc.home)
    if agent is None or not agent.alive or acc.home not in acc.replicas:
        raise ProtoError("E_WORKER_LOST", f"the home agent {acc.home or '-'} of account {acc.gid} "
                         "is lost", obj=acc.gid, op=op)
    return agent


def media_of(server: Coordinator, gid: str, op: str) -> MediaRec:
    rec = server.objects.media.get(gid)
    if rec is None:
        raise ProtoError("E_NOT_FOUND", f"no media object {gid!r}", obj=gid, op=op)
    return rec


def live(server: Coordinator, name: str, obj: str, op: str) -> AgentRecord:
    agent = server.registry.by_name.get(name)
    if agent is None or not agent.alive:
        raise ProtoError("E_WORKER_LOST", f"agent {name} is lost", obj=obj, op=op)
    return agent


def holder(server: Coordinator, msg: proto.Message) -> AgentRecord:
    """The agent that executes ``msg``: the holder of the object its target names."""
    target = proto.OPS[msg.op].target
    if target == "account":
        return home_agent(server, server.objects.account(msg.args["acc"], msg.op), msg.op)
    if target == "media":
        rec = media_of(server, msg.args["media"], msg.op)
        return live(server, rec.agent, rec.gid, msg.op)
    call = server.objects.call(msg.args["call"], msg.op)
    return live(server, call.agent, call.gid, msg.op)


def forward(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    server.pipeline.forward(client, msg, holder(server, msg), msg.args)


def forwarder(op: str) -> Route:
    """The route of an op that is only forwarded (its spec says ``route="forward"``)."""
    spec = proto.OPS[op]
    if spec.route != "forward" or spec.target not in ("account", "call", "media"):
        raise ValueError(f"{op} is not forwarded to the holder of an account, call or media")
    return forward
