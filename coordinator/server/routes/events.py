"""Routes of the subscription ops (``events.subscribe`` with its snapshot, ``events.unsubscribe``);
the filters and the fan-out are in ``coordinator.server.subscriptions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.routes.registry import route
from coordinator.server.subscriptions import (
    Subscription,
    account_visible,
    call_visible,
    fit_snapshot,
    parse_filter,
)

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


def snapshot(server: Coordinator, sub: Subscription) -> tuple[list[dict[str, Any]],
                                                              list[dict[str, Any]], bool]:
    """The accounts and live calls whose events ``sub`` delivers, as the coordinator knows them
    now; each call with the ``seq`` of the last event the coordinator forwarded about it."""
    states = server.subs.states
    states.prune(server.objects.calls)
    accounts = [{"acc": a.gid, "uri": a.uri, "agent": a.home, "contact": server.registry.contact(a),
                 "replicas": sorted(a.replicas), "auto_answer": a.auto_answer or 0}
                for a in server.objects.accounts.values() if account_visible(sub, a.gid)]
    calls = [{"call": c.gid, "acc": c.acc, "agent": c.agent, "state": c.state, "seq": c.last_seq,
              **states.view(c.gid)}
             for c in server.objects.calls.values() if call_visible(sub, c.gid, c.acc)]
    return fit_snapshot(accounts, calls)


@route("events.subscribe")
def events_subscribe(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    include = parse_filter(args.get("include"), f"{msg.op}: 'include'")
    exclude = parse_filter(args.get("exclude"), f"{msg.op}: 'exclude'")
    sub = server.subs.table.add(client, args.get("sub"), include, exclude, op=msg.op)
    accounts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    truncated = False
    if args.get("snapshot", True):
        accounts, calls, truncated = snapshot(server, sub)
    server.pipeline.reply(client, msg, {"sub": sub.sid, "accounts": accounts, "calls": calls,
                                        "truncated": truncated})


@route("events.unsubscribe")
def events_unsubscribe(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    removed = server.subs.table.remove(client, msg.args.get("sub"), op=msg.op)
    server.pipeline.reply(client, msg, {"removed": removed})
