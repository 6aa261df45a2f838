"""The registry of every op and event: one module per op group (the same groups name the
executors in ``agent/ops/`` and the routes in the coordinator), assembled here. Each op's spec
says, beside its fields, how the coordinator serves it and who may send it (``spec.OpSpec``).
Docs are generated from it (``proto.doc``)."""

from __future__ import annotations

from typing import TypeVar

from proto.ops import account, agent, buddy, call, client, codec, events, lib, load, media
from proto.ops.account import ACC_POLICY, ACC_SETTINGS, ACC_SIP, PRESENCE_ACTIVITIES
from proto.ops.buddy import BUDDY_STATUSES
from proto.ops.call import CALL_STATES, DTMF_DIGITS, DTMF_METHODS
from proto.ops.fields import SIP_TRANSPORTS
from proto.ops.media import MAX_PATH
from proto.ops.spec import ADMIN, CONTROL, READ, ROLES, EventSpec, OpSpec

#: the op groups, in the order the reference (PROTOCOL.md) lists them
GROUPS = (lib, account, buddy, call, media, codec, load, events, client, agent)

#: The kinds of message on the wire.
KINDS = ("req", "rep", "evt", "hb")


S = TypeVar("S", OpSpec, EventSpec)


def _merge(kind: str, tables: list[dict[str, S]]) -> dict[str, S]:
    """One table of all groups'; a name declared in two groups is an error at import."""
    out: dict[str, S] = {}
    for table in tables:
        for name, spec in table.items():
            if name in out:
                raise ValueError(f"{kind} {name} is declared in two groups")
            out[name] = spec
    return out


OPS: dict[str, OpSpec] = _merge("op", [g.OPS for g in GROUPS if hasattr(g, "OPS")])
EVENTS: dict[str, EventSpec] = _merge("event", [g.EVENTS for g in GROUPS if hasattr(g, "EVENTS")])

__all__ = [
    "ACC_POLICY", "ACC_SETTINGS", "ACC_SIP", "ADMIN", "BUDDY_STATUSES", "CALL_STATES", "CONTROL",
    "DTMF_DIGITS", "DTMF_METHODS", "EVENTS", "GROUPS", "KINDS", "MAX_PATH", "OPS",
    "PRESENCE_ACTIVITIES", "READ", "ROLES", "SIP_TRANSPORTS", "EventSpec", "OpSpec",
]
