"""One op, one place: every op the agents execute has exactly one executor, in the module of its
group; the registry refuses a second one, one in another group's module, or an op agents do not
execute. (The coordinator's routes are checked in test_routes.)"""

from __future__ import annotations

from typing import Any

import pytest

import proto
from agent.ops import EXECUTORS, GROUPS, executes
from agent.state import AgentState


def test_every_agent_op_has_exactly_its_executor() -> None:
    wanted = {name for name, spec in proto.OPS.items() if spec.executed_by_agent}
    assert set(EXECUTORS) == wanted
    for name, fn in EXECUTORS.items():
        assert fn.__module__ == f"agent.ops.{proto.OPS[name].group}", name


def test_the_agent_groups_are_the_protocol_groups() -> None:
    ours = {m.__name__.rsplit(".", 1)[-1] for m in GROUPS}
    agent_groups = {spec.group for spec in proto.OPS.values() if spec.executed_by_agent}
    assert ours == agent_groups


def _fn(module: str) -> Any:
    def fn(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
        return {}
    fn.__module__ = module
    return fn


def test_a_second_executor_is_refused() -> None:
    with pytest.raises(ValueError, match="two executors"):
        executes("call.hold")(_fn("agent.ops.call"))
    assert EXECUTORS["call.hold"].__name__ == "call_hold"


def test_an_executor_in_another_groups_module_is_refused() -> None:
    with pytest.raises(ValueError, match="belongs to group 'call'"):
        executes("call.hold")(_fn("agent.ops.media"))


@pytest.mark.parametrize("op", ["lib.status", "agent.hello", "no.such.op"])
def test_ops_agents_do_not_execute_have_no_executor(op: str) -> None:
    with pytest.raises(ValueError, match="not an op that agents execute"):
        executes(op)
