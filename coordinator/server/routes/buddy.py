"""Routes of the buddy ops: a buddy lives on its account's home agent; the coordinator keeps
its id, URI and subscription (to make it again when the account moves)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.server.routes.forward import home_agent
from coordinator.server.routes.registry import route
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


@route("acc.add_buddy")
def acc_add_buddy(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """A buddy on the account's home agent; the coordinator keeps its id and URI."""
    acc = server.objects.account(msg.args["acc"], msg.op)
    gid = msg.args.get("buddy") or server.objects.new_buddy_id()
    if any(gid in other.buddies for other in server.objects.accounts.values() if other is not acc):
        raise ProtoError("E_DUPLICATE", f"buddy id {gid!r} is in use", obj=gid, op=msg.op)
    if acc.buddies.get(gid, {"uri": msg.args["uri"]})["uri"] != msg.args["uri"]:
        raise ProtoError("E_DUPLICATE", f"buddy {gid!r} exists with another URI", obj=gid,
                         op=msg.op)

    def done(rep: proto.Message) -> None:
        if rep.ok and acc.gid in server.objects.accounts:
            acc.buddies[gid] = {"uri": msg.args["uri"],
                                "subscribe": bool(msg.args.get("subscribe"))}
        rep.id = msg.id
        server.pipeline.to_client(client, rep)

    server.pipeline.forward(client, msg, home_agent(server, acc, msg.op), dict(msg.args, buddy=gid), done)


@route("buddy.subscribe")

@route("buddy.info")

@route("buddy.delete")
def buddy_op(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """buddy.subscribe / info / delete: executed where the buddy's account lives."""
    acc = server.objects.buddy(msg.args["buddy"], msg.op)
    gid = msg.args["buddy"]

    def done(rep: proto.Message) -> None:
        if rep.ok and msg.op == "buddy.delete":
            acc.buddies.pop(gid, None)
        elif rep.ok and msg.op == "buddy.subscribe" and gid in acc.buddies:
            acc.buddies[gid]["subscribe"] = msg.args["subscribe"]
        rep.id = msg.id
        server.pipeline.to_client(client, rep)

    server.pipeline.forward(client, msg, home_agent(server, acc, msg.op), dict(msg.args, acc=acc.gid),
                            done)
