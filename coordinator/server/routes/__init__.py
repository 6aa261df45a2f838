"""How the coordinator serves each client op: one route per op, in the module of its group
(``@route``), or the generic forwarder for ops it only sends on (their spec says
``route="forward"``). ``ROUTES`` is the one table, complete once this package is imported."""

from __future__ import annotations

import proto
from coordinator.server.load.steering import upkeep
from coordinator.server.routes import (
    account,
    agent,
    buddy,
    call,
    client,
    codec,
    events,
    lib,
    load,
    media,
)
from coordinator.server.routes.forward import forwarder
from coordinator.server.routes.registry import ROUTES, route

GROUPS = (lib, account, buddy, call, media, codec, load, events, client, agent)

for _name, _spec in proto.OPS.items():
    if _spec.route == "forward":
        ROUTES[_name] = forwarder(_name)

__all__ = ["GROUPS", "ROUTES", "route", "upkeep"]
