"""Routes of the fleet-wide reads: the agents, the fleet's status, its SIP transports."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.routes.registry import route
from proto import sip_addresses

try:  # the installed package's version (a source tree that was never installed has none)
    SOFTWARE = importlib.metadata.version("callfleet")
except importlib.metadata.PackageNotFoundError:
    SOFTWARE = "unknown"

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


@route("lib.agents")
def lib_agents(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    page = _page(server, str(msg.args.get("after", "")),
                 int(msg.args.get("limit", proto.limits.AGENTS_PAGE)))
    server.pipeline.reply(client, msg, page)


def _page(server: Coordinator, after: str = "",
          limit: int = proto.limits.AGENTS_PAGE) -> dict[str, Any]:
    """A page of lib.agents: its agents' maps, ``next`` when more follow, and the total."""
    now = server.clock()
    recs, more = server.registry.page(now, after, limit)
    page: dict[str, Any] = {"agents": [r.public(server.counts) for r in recs],
                            "total": server.registry.count_listed(now)}
    if more:
        page["next"] = recs[-1].name
    return page


@route("lib.status")
def lib_status(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    now, budgets, firehose = server.clock(), server.pipeline.budgets, server.sockets.firehose
    first = _page(server)
    server.pipeline.reply(client, msg, {
        "agents": first["agents"], "agents_total": first["total"],
        "accounts": len(server.objects.accounts),
        "calls": server.counts.calls(), "version": proto.limits.VERSION,
        "coordinator": server.cid, "started": round(server.started, 3),
        "loads": [dict(run.progress(now), run=run.run) for run in server.loads.values()],
        "client_queue": server.delivery.queue, "dropped": server.delivery.dropped,
        "gaps_owed": server.delivery.pending(), "busy_refused": budgets.refused,
        "held": budgets.held(), "adopting": round(server.adoption.left(now), 3),
        "media": len(server.objects.media),
        "subscriptions": sum(len(s) for s in server.subs.table.by_conn.values()),
        "clients": len(server.leases), "clients_expired": server.leases.expired_total,
        "uptime": round(now - server.started_at, 3), "software": SOFTWARE,
        **({"firehose": {"subscribers": firehose.subscribers,
                         "max_subscribers": firehose.max_subscribers,
                         "refused": firehose.refused, "skipped": firehose.skipped}}
           if firehose is not None else {})})


@route("lib.transports")
def lib_transports(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Every SIP transport of the ready agents, as their hellos announced them."""
    server.pipeline.reply(client, msg, {"transports": [
        {"agent": rec.name, "type": a.kind, "host": a.host.strip("[]"), "port": a.port}
        for rec in server.registry.live() if rec.ready for a in sip_addresses.addresses(rec.sip)]})
