"""The recent events of the fleet (pure): a bounded ring, numbered as they arrive, read by each
page with its own filter, written as ``callfleet events --filter/--exclude`` takes it (the same
parser and the same matching: ``coordinator.server.subscriptions``). As with the firehose, an
event does not say which account an outgoing call belongs to, so ``acc=`` selects the account's
events and the incoming calls they announce.

The page never shows credentials: a value under a key that names one is masked (the fleet
puts none in events; this holds whatever an agent would send)."""

from __future__ import annotations

import collections
import json
from dataclasses import dataclass
from typing import Any

from coordinator.server.subscriptions import (
    EventKeys,
    Subscription,
    event_keys,
    parse_exprs,
    parse_filter,
)
from proto import ProtoError

#: events kept
MAX_EVENTS = 2000
#: characters of an event's data the page gets
MAX_TEXT = 400
#: incoming calls whose account is remembered (for ``acc=``)
MAX_CALLS = 10000
#: keys whose values never reach the page
SECRET_KEYS = frozenset({"password", "passwd", "credentials", "secret", "secret_key",
                         "owner_key", "token", "authorization"})


def masked(value: Any) -> Any:
    """``value`` with every credential-like entry replaced by ``***``."""
    if isinstance(value, dict):
        return {k: "***" if str(k).lower() in SECRET_KEYS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


@dataclass(frozen=True)
class TailEvent:
    n: int
    op: str
    obj: str
    seq: int
    ts: float
    text: str
    keys: EventKeys

    def view(self) -> dict[str, Any]:
        return {"n": self.n, "op": self.op, "obj": self.obj, "seq": self.seq,
                "ts": round(self.ts, 3), "data": self.text}


def make_filter(include: str, exclude: str) -> Subscription | None:
    """A page's filter from its two fields (expressions separated by spaces, as repeated
    ``--filter`` / ``--exclude``); None when both are empty. ValueError says what is wrong."""
    try:
        inc = parse_filter(parse_exprs(include.split()) or None, "filter")
        exc = parse_filter(parse_exprs(exclude.split()) or None, "exclude")
    except ProtoError as err:
        raise ValueError(err.msg) from None
    if inc.is_empty() and exc.is_empty():
        return None
    return Subscription("page", inc, exc)


class Tail:
    def __init__(self, size: int = MAX_EVENTS) -> None:
        self.events: collections.deque[TailEvent] = collections.deque(maxlen=size)
        self.count = 0
        self._call_acc: collections.OrderedDict[str, str] = collections.OrderedDict()

    def add(self, op: str, obj: str, seq: int, ts: float, data: dict[str, Any]) -> None:
        if op == "acc.incoming_call" and isinstance(data.get("call"), str):
            self._call_acc[data["call"]] = obj
            if len(self._call_acc) > MAX_CALLS:
                self._call_acc.popitem(last=False)
        account = self._call_acc.get(obj, "")
        if op == "call.state" and data.get("state") == "DISCONNECTED":
            self._call_acc.pop(obj, None)
        text = json.dumps(masked(data), ensure_ascii=False, separators=(",", ":"), default=repr)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT - 1] + "…"
        self.count += 1
        self.events.append(TailEvent(self.count, op, obj, seq, ts, text,
                                     event_keys(op, obj, data, account)))

    def since(self, after: int, sub: Subscription | None, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` events numbered above ``after`` that ``sub`` accepts, oldest
        first."""
        out: list[dict[str, Any]] = []
        for ev in reversed(self.events):
            if ev.n <= after or len(out) >= limit:
                break
            if sub is None or sub.accepts(ev.keys):
                out.append(ev.view())
        out.reverse()
        return out
