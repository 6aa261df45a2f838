"""Event subscriptions: filters, matching, the table of subscriptions per client connection,
the per-call state kept for snapshots, the snapshot itself (pure), and ``Subscribers``, which
sends each published event to the connections whose subscriptions match it.

A subscription has an ``include`` filter and an ``exclude`` filter. A filter has up to four
criteria, each a list: ``events`` (event-name prefixes, matched per dotted segment), ``accounts``,
``calls`` and ``runs`` (object ids). A filter matches an event when **every** criterion it has
matches (AND); a criterion matches when **any** of its entries does (OR). A filter without
criteria matches every event. An event is delivered to a subscription when ``include`` matches it
and ``exclude`` (when it has criteria) does not.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgpack

import proto
from proto import ProtoError, limits
from proto.ops import EVENTS


class Sender(Protocol):
    """Sends a frame to one client connection: ``ok``, ``full`` or ``gone`` (``Delivery``)."""

    def send(self, conn: bytes, frame: bytes, reply: bool = False) -> str: ...

#: the criteria a filter may have, in wire order
FILTER_KEYS = ("events", "accounts", "calls", "runs")
#: the short names ``callfleet events --filter`` accepts for each criterion
EXPR_KEYS = {"event": "events", "events": "events", "kind": "events", "acc": "accounts",
             "account": "accounts", "accounts": "accounts", "call": "calls", "calls": "calls",
             "run": "runs", "runs": "runs"}


def kind_matches(prefix: str, op: str) -> bool:
    """``call`` and ``call.`` match ``call.state`` and ``call.media_state``; ``call.state`` matches
    only ``call.state`` (and names below it, e.g. ``call.state.x``); ``call.st`` matches nothing."""
    prefix = prefix.rstrip(".")
    return op == prefix or op.startswith(prefix + ".")


@dataclass(frozen=True)
class EventKeys:
    """What filters look at in one event ("" when the event has no such thing)."""

    op: str
    account: str = ""
    call: str = ""
    run: str = ""


def event_keys(op: str, obj: str, data: Mapping[str, Any], account: str = "") -> EventKeys:
    """The keys of an event, from what its ``obj`` names (per the event registry).

    - ``obj`` names an account (``acc.*``): the account is ``obj``; the call is ``data.call``
      (the call that ``acc.incoming_call`` announces).
    - ``obj`` names a call (``call.*``): the call is ``obj``; the account is ``account``, which
      only the coordinator knows (the account the call was made from or arrived on).
    - ``obj`` names a load run (``load.*``): the run is ``obj``.
    - Any event whose ``data`` has a string ``run`` belongs to that run too.
    """
    spec = EVENTS.get(op)
    kind = spec.obj if spec is not None else ""
    call = run = ""
    if kind == "account":
        account = obj
        call = data.get("call", "") if isinstance(data.get("call"), str) else ""
    elif kind == "call":
        call = obj
    elif kind == "run":
        run = obj
    if not run and isinstance(data.get("run"), str):
        run = data["run"]
    return EventKeys(op, account if kind in ("account", "call") else "", call, run)


@dataclass(frozen=True)
class Filter:
    """One include or exclude filter. An empty tuple is an absent criterion."""

    events: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.events or self.accounts or self.calls or self.runs)

    def matches(self, keys: EventKeys) -> bool:
        if self.events and not any(kind_matches(p, keys.op) for p in self.events):
            return False
        if self.accounts and keys.account not in self.accounts:
            return False
        if self.calls and keys.call not in self.calls:
            return False
        return not (self.runs and keys.run not in self.runs)

    def to_wire(self) -> dict[str, list[str]]:
        """The filter as a map (absent criteria left out)."""
        return {k: list(getattr(self, k)) for k in FILTER_KEYS if getattr(self, k)}


def parse_filter(raw: Any, where: str) -> Filter:
    """A filter from its wire form (a map, or nil for "no criteria"); E_BAD_ARGS when malformed.

    Each criterion is nil (absent) or a list of 1..MAX_FILTER_ITEMS strings: event-name prefixes
    of 1..MAX_OP characters for ``events`` (a trailing ``.`` is allowed), ids of 1..MAX_ID
    characters for the others. Unknown criteria are refused, like unknown arguments.
    """
    if raw is None:
        return Filter()
    if not isinstance(raw, dict):
        raise ProtoError("E_BAD_ARGS", f"{where} must be a map")
    for key in raw:
        if key not in FILTER_KEYS:
            raise ProtoError("E_BAD_ARGS", f"{where}: unknown criterion {key!r} "
                             f"(known: {', '.join(FILTER_KEYS)})")
    parts: dict[str, tuple[str, ...]] = {}
    for key in FILTER_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        hi = limits.MAX_OP if key == "events" else limits.MAX_ID
        if not isinstance(value, list) or not 1 <= len(value) <= limits.MAX_FILTER_ITEMS:
            raise ProtoError("E_BAD_ARGS", f"{where}: {key!r} must be a list of 1.."
                             f"{limits.MAX_FILTER_ITEMS} strings")
        for item in value:
            if not isinstance(item, str) or not 1 <= len(item) <= hi:
                raise ProtoError("E_BAD_ARGS", f"{where}: each of {key!r} must be a string of "
                                 f"1..{hi} characters")
            if key == "events" and not item.rstrip("."):
                raise ProtoError("E_BAD_ARGS", f"{where}: {item!r} is not an event-name prefix")
        parts[key] = tuple(dict.fromkeys(value))  # unique, in order
    return Filter(**parts)


def parse_exprs(exprs: Iterable[str]) -> dict[str, list[str]]:
    """``callfleet events --filter`` expressions -> a filter map.

    ``KEY=V1,V2`` with KEY one of event (or kind), acc, call, run; a bare word is an event-name
    prefix. Values of one key are ORed, keys are ANDed. ValueError names a bad expression.
    """
    out: dict[str, list[str]] = {}
    for expr in exprs:
        key, sep, values = expr.partition("=")
        if not sep:
            key, values = "event", expr
        crit = EXPR_KEYS.get(key.strip().lower())
        if crit is None:
            raise ValueError(f"{expr!r}: unknown key {key!r} (use event=, acc=, call=, run=)")
        items = [v.strip() for v in values.split(",") if v.strip()]
        if not items:
            raise ValueError(f"{expr!r}: no value")
        out.setdefault(crit, []).extend(items)
    return out


@dataclass(frozen=True)
class Subscription:
    sid: str
    include: Filter
    exclude: Filter

    def accepts(self, keys: EventKeys) -> bool:
        return self.include.matches(keys) and (self.exclude.is_empty()
                                               or not self.exclude.matches(keys))


@dataclass
class SubscriptionTable:
    """The subscriptions of every client connection (routing id)."""

    by_conn: dict[bytes, dict[str, Subscription]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __len__(self) -> int:
        return sum(len(subs) for subs in self.by_conn.values())

    def add(self, conn: bytes, sid: str | None, include: Filter, exclude: Filter,
            op: str = "events.subscribe") -> Subscription:
        """A new subscription; a ``sid`` the connection already holds is replaced (idempotent)."""
        subs = self.by_conn.get(conn, {})
        if sid not in subs and len(subs) >= limits.MAX_SUBSCRIPTIONS:
            raise ProtoError("E_BAD_ARGS", f"this connection already holds {limits.MAX_SUBSCRIPTIONS}"
                             " subscriptions (the most allowed): unsubscribe first", op=op)
        if not sid:
            sid = next(f"s{n}" for n in self._ids if f"s{n}" not in subs)
        sub = Subscription(sid, include, exclude)
        self.by_conn.setdefault(conn, {})[sid] = sub
        return sub

    def remove(self, conn: bytes, sid: str | None, op: str = "events.unsubscribe") -> int:
        """Remove one subscription (``sid``) or all of the connection's (None); how many went."""
        subs = self.by_conn.get(conn, {})
        if sid is None:
            self.by_conn.pop(conn, None)
            return len(subs)
        if sid not in subs:
            raise ProtoError("E_NOT_FOUND", f"this connection has no subscription {sid!r}",
                             obj=sid, op=op)
        del subs[sid]
        if not subs:
            del self.by_conn[conn]
        return 1

    def drop_conn(self, conn: bytes) -> None:
        self.by_conn.pop(conn, None)

    def targets(self, keys: EventKeys, skip: bytes | None = None) -> list[bytes]:
        """Connections with at least one subscription that accepts the event (``skip`` aside)."""
        return [conn for conn, subs in self.by_conn.items()
                if conn != skip and any(s.accepts(keys) for s in subs.values())]


@dataclass
class CallStates:
    """What events last said about each live call, for snapshots (the coordinator's own call
    records hold only the state name)."""

    calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def observe(self, op: str, obj: str, data: Mapping[str, Any]) -> None:
        if op == "acc.incoming_call":
            self.calls[str(data.get("call", ""))] = {
                "role": "callee", "remote_uri": data.get("remote_uri", ""),
                "call_id": data.get("call_id", "")}
        elif op == "call.state":
            if data.get("state") == "DISCONNECTED":
                self.calls.pop(obj, None)
                return
            entry = self.calls.setdefault(obj, {})
            for key in ("role", "remote_uri", "call_id", "code", "reason"):
                if data.get(key) not in (None, ""):
                    entry[key] = data[key]
        elif op == "call.media_state" and obj in self.calls:
            self.calls[obj]["media"] = data.get("media", "NONE")

    def prune(self, live: Collection[str]) -> None:
        """Forget calls that ended without a DISCONNECTED event reaching us."""
        for gid in [g for g in self.calls if g not in live]:
            del self.calls[gid]

    def view(self, gid: str) -> dict[str, Any]:
        """The call's last known details, with defaults for what no event told yet."""
        got = self.calls.get(gid, {})
        return {"role": got.get("role", ""), "remote_uri": got.get("remote_uri", ""),
                "call_id": got.get("call_id", ""), "code": got.get("code", 0),
                "reason": got.get("reason", ""), "media": got.get("media", "NONE")}


def account_visible(sub: Subscription, acc: str) -> bool:
    """An account is in a snapshot when an ``acc.incoming_call`` about it would be delivered."""
    return sub.accepts(EventKeys("acc.incoming_call", account=acc))


def call_visible(sub: Subscription, call: str, acc: str) -> bool:
    """A call is in a snapshot when a ``call.state`` about it would be delivered."""
    return sub.accepts(EventKeys("call.state", account=acc, call=call))


def fit_snapshot(accounts: list[dict[str, Any]], calls: list[dict[str, Any]],
                 max_items: int = limits.MAX_SNAPSHOT,
                 max_bytes: int = limits.MAX_FRAME // 2) -> tuple[list[dict[str, Any]],
                                                               list[dict[str, Any]], bool]:
    """Cut both lists to ``max_items`` and, while their msgpack form is over ``max_bytes``, by
    half again; True when anything was cut (the reply says ``truncated``)."""
    n_acc, n_call = min(len(accounts), max_items), min(len(calls), max_items)

    def size() -> int:
        packed: bytes = msgpack.packb([accounts[:n_acc], calls[:n_call]], use_bin_type=True)
        return len(packed)

    while (n_acc or n_call) and size() > max_bytes:
        n_acc, n_call = n_acc // 2, n_call // 2
    truncated = n_acc < len(accounts) or n_call < len(calls)
    return accounts[:n_acc], calls[:n_call], truncated


class Subscribers:
    """The coordinator's subscriptions and the call details its snapshots report."""

    def __init__(self) -> None:
        self.table = SubscriptionTable()
        self.states = CallStates()

    def fan_out(self, sender: Sender, live_calls: Collection[str], msg: proto.Message,
                frame: bytes, owner: bytes | None, account: str) -> None:
        """Send ``frame`` (the event ``msg``, unchanged) to every connection with a matching
        subscription, except ``owner``, which has its copy already. A full queue, or a
        connection that is not connected (it may be reconnecting), drops the event for that
        connection only (counted: it is owed a gap notice); its subscriptions end with its
        lease (``coordinator.server.expiry``)."""
        self.states.observe(msg.op, msg.obj, msg.data)
        if len(self.states.calls) > 2 * len(live_calls) + 64:
            self.states.prune(live_calls)
        if not self.table.by_conn:
            return
        keys = event_keys(msg.op, msg.obj, msg.data, account)
        for conn in self.table.targets(keys, skip=owner):
            sender.send(conn, frame)
