"""The agent's one table of executors: ``@executes(op)`` registers a function in the module of
the op's group (``agent/ops/<group>.py``, as ``proto/ops/<group>.py`` declares it). Registering
an op twice, an op the agent does not execute, or in another group's module is an error at
import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import proto
from agent.state import AgentState

#: an executor takes the agent's state and the request's (validated) arguments and returns the
#: reply's result map, or raises ProtoError (pjsua2 errors become E_PJSIP: ``agent.errors``)
Executor = Callable[[AgentState, dict[str, Any]], dict[str, Any]]

#: op name -> its executor
EXECUTORS: dict[str, Executor] = {}


def executes(op: str) -> Callable[[Executor], Executor]:
    spec = proto.OPS.get(op)
    if spec is None or not spec.executed_by_agent:
        raise ValueError(f"{op!r} is not an op that agents execute")

    def register(fn: Executor) -> Executor:
        group = fn.__module__.rsplit(".", 1)[-1]
        if group != spec.group:
            raise ValueError(f"{op} belongs to group {spec.group!r}: its executor goes in "
                             f"agent/ops/{spec.group}.py, not {fn.__module__}")
        if op in EXECUTORS:
            raise ValueError(f"{op} has two executors: {EXECUTORS[op].__qualname__} and "
                             f"{fn.__qualname__}")
        EXECUTORS[op] = fn
        return fn

    return register
