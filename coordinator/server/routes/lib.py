"""Routes of the fleet-wide reads: the agents, the fleet's status, its SIP transports."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.routes.registry import route
from proto import sip_addresses

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


@route("lib.agents")
def lib_agents(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.pipeline.reply(client, msg, {"agents": _agents(co)})


def _agents(co: Coordinator) -> list[dict[str, Any]]:
    return [r.public(co.objects) for r in co.registry.listed(co.clock())]


@route("lib.status")
def lib_status(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    now, budgets, firehose = co.clock(), co.pipeline.budgets, co.sockets.firehose
    co.pipeline.reply(client, msg, {
        "agents": _agents(co), "accounts": len(co.objects.accounts),
        "calls": len(co.objects.calls), "version": proto.limits.VERSION,
        "loads": [dict(run.progress(now), run=run.run) for run in co.loads.values()],
        "client_queue": co.delivery.queue, "dropped": co.delivery.dropped,
        "gaps_owed": co.delivery.pending(), "busy_refused": budgets.refused,
        "held": budgets.held(), "adopting": round(co.adoption.left(now), 3),
        **({"firehose": {"subscribers": len(firehose.open),
                         "max_subscribers": firehose.max_subscribers,
                         "refused": firehose.refused, "skipped": firehose.skipped}}
           if firehose is not None else {})})


@route("lib.transports")
def lib_transports(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Every SIP transport of the ready agents, as their hellos announced them."""
    co.pipeline.reply(client, msg, {"transports": [
        {"agent": rec.name, "type": a.kind, "host": a.host.strip("[]"), "port": a.port}
        for rec in co.registry.live() if rec.ready for a in sip_addresses.addresses(rec.sip)]})
