"""Routes of the codec and sound device ops. Listing asks one agent (every agent runs the same
build); a codec priority is set on one agent, or on every agent, and then the coordinator
remembers it and sets it on each agent that joins later (a restarted agent starts with
PJSIP's defaults)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import proto
from coordinator.server.registry import AgentRecord
from coordinator.server.routes.registry import route
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


def _named(server: Coordinator, name: str, op: str) -> AgentRecord:
    agent = server.registry.by_name.get(name)
    if agent is None or not agent.alive:
        raise ProtoError("E_NOT_FOUND", f"no agent {name!r}", obj=name, op=op)
    return agent


@route("lib.enum_codecs")

@route("lib.enum_snd_dev")
def one_agent(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """lib.enum_codecs / lib.enum_snd_dev: the agent named, or the first ready one."""
    if msg.args.get("agent"):
        agent = _named(server, msg.args["agent"], msg.op)
    else:
        ready = sorted((a for a in server.registry.live() if a.ready), key=lambda a: a.name)
        if not ready:
            raise ProtoError("E_NO_AGENT", "no agent is connected", op=msg.op)
        agent = ready[0]
    server.pipeline.forward(client, msg, agent, msg.args)


@route("lib.set_codec_priority")
def lib_set_codec_priority(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    if args.get("agent"):
        server.pipeline.forward(client, msg, _named(server, args["agent"], msg.op), args)
        return
    agents = [a for a in server.registry.live() if a.ready]
    if not agents:
        raise ProtoError("E_NO_AGENT", "no agent is connected", op=msg.op)
    waiting = {a.name for a in agents}
    done: list[str] = []
    codecs: set[str] = set()
    errors: list[proto.Message] = []

    def on_reply(name: str, rep: proto.Message) -> None:
        waiting.discard(name)
        if rep.ok:
            done.append(name)
            codecs.update(rep.result["codecs"])
        else:
            errors.append(rep)
        if waiting:
            return
        if not done:  # refused everywhere (e.g. no such codec): the first agent's error
            errors[0].id = msg.id
            server.pipeline.to_client(client, errors[0])
            return
        # set on agents that join later too (a newer setting of the same id goes last)
        server.codec_priorities.pop(args["codec"], None)
        server.codec_priorities[args["codec"]] = args["priority"]
        server.pipeline.reply(client, msg, {"agents": sorted(done), "codecs": sorted(codecs)})

    for agent in agents:
        try:
            server.pipeline.forward(None, msg, agent, args, functools.partial(on_reply, agent.name))
        except ProtoError as exc:  # unreachable: counts as its reply
            on_reply(agent.name, proto.error(msg, exc))
