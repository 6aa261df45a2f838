"""One op, one place, on the coordinator's side: every client op has exactly one route (its own,
in the module of its group, or the generic forwarder its spec asks for); every event agents send
has one routing entry; every event a client can get about its objects has one callback entry."""

from __future__ import annotations

from typing import Any

import pytest

import proto
from coordinator.client.dispatch import HANDLERS as CLIENT_EVENTS
from coordinator.client.dispatch import handles
from coordinator.server.events import HANDLERS as AGENT_EVENTS
from coordinator.server.routes import GROUPS, ROUTES, route
from coordinator.server.routes.forward import forward


def test_every_client_op_has_exactly_its_route() -> None:
    assert set(ROUTES) == {name for name, spec in proto.OPS.items() if spec.from_clients}
    for name, fn in ROUTES.items():
        spec = proto.OPS[name]
        if spec.route == "forward":
            assert fn is forward, name
        else:
            assert fn.__module__ == f"coordinator.server.routes.{spec.group}", name


def test_the_route_groups_are_the_protocol_groups() -> None:
    assert {m.__name__.rsplit(".", 1)[-1] for m in GROUPS} == {
        spec.group for spec in proto.OPS.values() if spec.route == "own"}


def _fn(module: str) -> Any:
    def fn(server: Any, client: bytes, msg: proto.Message) -> None:
        return None
    fn.__module__ = module
    return fn


def test_a_second_route_or_one_in_another_group_is_refused() -> None:
    with pytest.raises(ValueError, match="two routes"):
        route("acc.create")(_fn("coordinator.server.routes.account"))
    with pytest.raises(ValueError, match="belongs to group 'account'"):
        route("acc.create")(_fn("coordinator.server.routes.call"))


@pytest.mark.parametrize("op", ["call.hold", "agent.hello", "load.agent_go", "no.such.op"])
def test_forwarded_and_agent_ops_get_no_route_of_their_own(op: str) -> None:
    with pytest.raises(ValueError, match="not an op the coordinator serves"):
        route(op)


def test_every_event_from_agents_has_one_routing_entry() -> None:
    from_agents = {name for name in proto.EVENTS
                   if name not in ("acc.moved", "load.progress", "load.done", "events.gap",
                                   "client.expired")}
    assert set(AGENT_EVENTS) == from_agents


def test_every_event_about_a_clients_objects_reaches_one_callback() -> None:
    owned = {name for name, spec in proto.EVENTS.items()
             if spec.group in ("account", "buddy", "call", "media")
             or name in ("load.progress", "load.done")}
    assert set(CLIENT_EVENTS) == owned
    with pytest.raises(ValueError, match="two handlers"):
        handles("call.state", "calls")(lambda obj, data: None)
    with pytest.raises(ValueError, match="no event"):
        handles("call.nope", "calls")
