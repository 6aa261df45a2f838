"""The coordinator's one table of routes: ``@route(op)`` registers the route of an op whose spec
says the coordinator serves it with its own logic (``route="own"``), in the module of the op's
group (``coordinator/server/routes/<group>.py``). Ops the coordinator only forwards
(``route="forward"``) get the generic forwarder (``routes.forward``). Registering an op twice,
in another group's module, or an op that is not the coordinator's own is an error at import."""

from __future__ import annotations

from coordinator.server.pipeline import Route
from proto.ops.table import OpTable

_TABLE: OpTable[Route] = OpTable("route", "coordinator/server/routes",
                                lambda s: s.route == "own",
                                "an op the coordinator serves with its own route")

#: op name -> its route
ROUTES: dict[str, Route] = _TABLE.fns

#: ``@route(op)`` registers the decorated function as the op's route
route = _TABLE.register
