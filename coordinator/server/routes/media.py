"""Routes of the media ops. A media object lives on one agent and is known by the id that agent
gave it: the create ops are placed on the agent the client names (or the agent holding the call
it names), and a bridge connection needs both of its ends (calls or media objects) on the same
agent. media.player_set_pos is forwarded as it is (``routes.forward``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.server.expiry import tell_agent
from coordinator.server.objects import MediaRec
from coordinator.server.registry import AgentRecord
from coordinator.server.routes.forward import live, media_of
from coordinator.server.routes.registry import route
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator



def _placement(server: Coordinator, msg: proto.Message) -> AgentRecord:
    """The agent a create op names: by ``agent``, or as the holder of ``call``."""
    args, op = msg.args, msg.op
    name = args.get("agent")
    if args.get("call"):
        held_by = server.objects.call(args["call"], op).agent
        if name and name != held_by:
            raise ProtoError("E_CROSS_AGENT", f"call {args['call']!r} is on agent {held_by}, not "
                             f"{name}", obj=args["call"], op=op)
        name = held_by
    if not name:
        raise ProtoError("E_BAD_ARGS", f"{op}: give the agent (or a call) to put the object on",
                         op=op)
    if name not in server.registry.by_name:
        raise ProtoError("E_NOT_FOUND", f"no agent {name!r}", obj=name, op=op)
    agent = live(server, name, name, op)
    if not agent.ready:
        raise ProtoError("E_WRONG_STATE", f"agent {name} is {agent.state}", obj=name, op=op)
    return agent


@route("media.create_tone")
@route("media.create_player")
@route("media.create_recorder")
def media_create(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """media.create_tone / create_player / create_recorder: recorded once the agent made it."""
    agent = _placement(server, msg)

    def done(rep: proto.Message) -> None:
        gid = rep.result.get("media") if rep.ok else None
        if isinstance(gid, str) and not server.leases.alive(client):
            # its client's lease expired while the agent made it: it goes too
            tell_agent(server, agent.name, "media.destroy", {"media": gid})
        elif isinstance(gid, str):
            server.objects.media[gid] = MediaRec(gid, client, agent.name,
                                                 bool(msg.args.get("persistent")))
        rep.id = msg.id
        server.pipeline.to_client(client, rep)

    server.pipeline.forward(client, msg, agent, dict(msg.args, **server.access.owner_args(client)), done)


@route("media.destroy")
def media_destroy(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Forgotten at once (also when its agent cannot be reached: the object went with it)."""
    rec = media_of(server, msg.args["media"], msg.op)
    del server.objects.media[rec.gid]
    server.pipeline.forward(client, msg, live(server, rec.agent, rec.gid, msg.op), msg.args)


def _agent_of(server: Coordinator, gid: str, op: str) -> str:
    """The agent holding a call or a media object."""
    if gid in server.objects.media:
        return server.objects.media[gid].agent
    if gid in server.objects.calls:
        return server.objects.calls[gid].agent
    raise ProtoError("E_NOT_FOUND", f"no live call or media object {gid!r}", obj=gid, op=op)


@route("media.conf_connect")
@route("media.conf_disconnect")
def media_conf(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """media.conf_connect / conf_disconnect: to the agent holding both ends."""
    src, dst = msg.args["src"], msg.args["dst"]
    src_agent, dst_agent = _agent_of(server, src, msg.op), _agent_of(server, dst, msg.op)
    if src_agent != dst_agent:
        raise ProtoError("E_CROSS_AGENT", f"{src!r} is on agent {src_agent} and {dst!r} on "
                         f"{dst_agent}: connect objects of one agent only", obj=src, op=msg.op)
    server.pipeline.forward(client, msg, live(server, src_agent, src, msg.op), msg.args)
