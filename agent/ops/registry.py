"""The agent's one table of executors: ``@executes(op)`` registers a function in the module of
the op's group (``agent/ops/<group>.py``, as ``proto/ops/<group>.py`` declares it). Registering
an op twice, an op the agent does not execute, or in another group's module is an error at
import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.state import AgentState
from proto.ops.table import OpTable

#: an executor takes the agent's state and the request's (validated) arguments and returns the
#: reply's result map, or raises ProtoError (pjsua2 errors become E_PJSIP: ``agent.errors``)
Executor = Callable[[AgentState, dict[str, Any]], dict[str, Any]]

_TABLE: OpTable[Executor] = OpTable("executor", "agent/ops", lambda s: s.executed_by_agent,
                                   "an op that agents execute")

#: op name -> its executor
EXECUTORS: dict[str, Executor] = _TABLE.fns

#: ``@executes(op)`` registers the decorated function as the op's executor
executes = _TABLE.register
