"""The coordinator's one table of routes: ``@route(op)`` registers the route of an op whose spec
says the coordinator serves it with its own logic (``route="own"``), in the module of the op's
group (``coordinator/server/routes/<group>.py``). Ops the coordinator only forwards
(``route="forward"``) get the generic forwarder (``routes.forward``). Registering an op twice,
in another group's module, or an op that is not the coordinator's own is an error at import."""

from __future__ import annotations

from collections.abc import Callable

import proto
from coordinator.server.pipeline import Route

#: op name -> its route
ROUTES: dict[str, Route] = {}


def route(op: str) -> Callable[[Route], Route]:
    spec = proto.OPS.get(op)
    if spec is None or spec.route != "own":
        raise ValueError(f"{op!r} is not an op the coordinator serves with its own route")

    def register(fn: Route) -> Route:
        group = fn.__module__.rsplit(".", 1)[-1]
        if group != spec.group:
            raise ValueError(f"{op} belongs to group {spec.group!r}: its route goes in "
                             f"coordinator/server/routes/{spec.group}.py, not {fn.__module__}")
        if op in ROUTES:
            raise ValueError(f"{op} has two routes: {ROUTES[op].__qualname__} and "
                             f"{fn.__qualname__}")
        ROUTES[op] = fn
        return fn

    return register
