"""Routes of the client ops: a connection's lease (set, renewed: ``coordinator.server.leases``),
and an admin's adoption of persistent objects (those whose owner's lease expired, or named)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.objects import AccountRec, CallRec, MediaRec
from coordinator.server.routes.registry import route
from proto import ProtoError, limits

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

Owned = AccountRec | CallRec | MediaRec


@route("client.lease")
def client_lease(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Set the lease (any message renewed it already); ``fresh`` once per lease."""
    now = server.clock()
    seconds = msg.args.get("lease")
    if seconds is not None:
        lease = server.leases.set(client, float(seconds), now)
    else:
        server.leases.renew(client, now)
        lease = server.leases.by_conn[client]
    fresh, lease.fresh = lease.fresh, False
    server.pipeline.reply(client, msg, {"lease": lease.seconds, "fresh": fresh,
                                        "coordinator": server.cid})


def _named(server: Coordinator, ids: Any, op: str) -> list[Owned]:
    """The objects ``ids`` names: every one must exist and be persistent."""
    if not isinstance(ids, list) or not all(isinstance(g, str) and 0 < len(g) <= limits.MAX_ID
                                            for g in ids):
        raise ProtoError("E_BAD_ARGS", f"{op}: 'objects' must be a list of object ids", op=op)
    objects = server.objects
    found: list[Owned] = []
    for gid in ids:
        rec: Owned | None = (objects.accounts.get(gid) or objects.calls.get(gid)
                             or objects.media.get(gid))
        if rec is None:
            raise ProtoError("E_NOT_FOUND", f"no account, call or media object {gid!r}",
                             obj=gid, op=op)
        if not rec.persistent:
            raise ProtoError("E_FORBIDDEN", f"{gid} is not persistent: it ends with its "
                             "owner's lease", obj=gid, op=op)
        found.append(rec)
    return found


def orphans(server: Coordinator) -> list[Owned]:
    """The persistent objects whose owner has no lease (it expired)."""
    objects = server.objects
    every: list[Owned] = [*objects.accounts.values(), *objects.calls.values(),
                          *objects.media.values()]
    return [rec for rec in every if rec.persistent and not server.leases.alive(rec.owner)]


@route("client.adopt")
def client_adopt(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    ids = msg.args.get("objects")
    found = orphans(server) if ids is None else _named(server, ids, msg.op)
    for rec in found:
        rec.owner = client
    server.pipeline.reply(client, msg, {
        "accounts": sorted(r.gid for r in found if isinstance(r, AccountRec)),
        "calls": sorted(r.gid for r in found if isinstance(r, CallRec)),
        "media": sorted(r.gid for r in found if isinstance(r, MediaRec))})
