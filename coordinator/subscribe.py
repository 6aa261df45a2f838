"""Per-client event subscriptions in the coordinator: the ``events.subscribe`` and
``events.unsubscribe`` handlers, and the fan-out of every published event to the client
connections whose subscriptions match it. The filter logic is in ``coordinator.subscriptions``.

    events.subscribe   {sub?, include?, exclude?, snapshot?} -> {sub, accounts, calls, truncated}
    events.unsubscribe {sub?}                                  -> {removed}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.subscriptions import (
    CallStates,
    Subscription,
    SubscriptionTable,
    account_visible,
    call_visible,
    event_keys,
    fit_snapshot,
    parse_filter,
)

if TYPE_CHECKING:
    from coordinator.broker import Coordinator


class Subscribers:
    """The coordinator's subscriptions and the call details its snapshots report."""

    def __init__(self) -> None:
        self.table = SubscriptionTable()
        self.states = CallStates()

    def fan_out(self, co: Coordinator, msg: proto.Message, frame: bytes, owner: bytes | None,
                account: str) -> None:
        """Send ``frame`` (the event ``msg``, unchanged) to every connection with a matching
        subscription, except ``owner``, which has its copy already. A connection that is gone
        loses its subscriptions; a full queue drops the event for that connection only."""
        self.states.observe(msg.op, msg.obj, msg.data)
        if len(self.states.calls) > 2 * len(co.objects.calls) + 64:
            self.states.prune(co.objects.calls)
        if not self.table.by_conn:
            return
        keys = event_keys(msg.op, msg.obj, msg.data, account)
        for conn in self.table.targets(keys, skip=owner):
            # a full queue (high-water mark) drops this event for that connection only; one
            # that is not connected (ROUTER_MANDATORY) loses its subscriptions
            if co.send_frame_to_client(conn, frame) == "gone":
                self.table.drop_conn(conn)


def snapshot(co: Coordinator, sub: Subscription) -> tuple[list[dict[str, Any]],
                                                          list[dict[str, Any]], bool]:
    """The accounts and live calls whose events ``sub`` delivers, as the coordinator knows them
    now; each call with the ``seq`` of the last event the coordinator forwarded about it."""
    from coordinator.handlers import _contact  # handlers imports this module

    states = co.subs.states
    states.prune(co.objects.calls)
    accounts = [{"acc": a.gid, "uri": a.uri, "agent": a.home, "contact": _contact(co, a),
                 "replicas": sorted(a.replicas), "auto_answer": a.auto_answer or 0}
                for a in co.objects.accounts.values() if account_visible(sub, a.gid)]
    calls = [{"call": c.gid, "acc": c.acc, "agent": c.agent, "state": c.state, "seq": c.last_seq,
              **states.view(c.gid)}
             for c in co.objects.calls.values() if call_visible(sub, c.gid, c.acc)]
    return fit_snapshot(accounts, calls)


def events_subscribe(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    include = parse_filter(args.get("include"), f"{msg.op}: 'include'")
    exclude = parse_filter(args.get("exclude"), f"{msg.op}: 'exclude'")
    sub = co.subs.table.add(client, args.get("sub"), include, exclude, op=msg.op)
    accounts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    truncated = False
    if args.get("snapshot", True):
        accounts, calls, truncated = snapshot(co, sub)
    co.reply(client, msg, {"sub": sub.sid, "accounts": accounts, "calls": calls,
                           "truncated": truncated})


def events_unsubscribe(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.reply(client, msg, {"removed": co.subs.table.remove(client, msg.args.get("sub"), op=msg.op)})
