"""Executors of the load-run ops the coordinator sends to agents."""

from __future__ import annotations

from typing import Any

from agent.load.generator import LoadGen
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError


def _run(state: AgentState, args: dict[str, Any], op: str) -> LoadGen:
    gen = state.loads.get(args["run"])
    if not isinstance(gen, LoadGen):
        raise ProtoError("E_NOT_FOUND", f"no load run {args['run']!r} on this agent",
                         obj=args["run"], op=op)
    return gen

@executes("load.agent_start")
def load_agent_start(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    run = args["run"]
    if run in state.loads:
        return {"run": run}  # a retried request
    need = len((args.get("caller") or {}).get("ids") or []) + (1 if args.get("answer") else 0)
    if len(state.accounts) + need > state.max_accounts:
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name} has no room for {need} more "
                         f"accounts", obj=run, op="load.agent_start")
    state.loads[run] = LoadGen(state, run, args.get("caller"), args.get("answer"),
                               owner=args.get("owner") or "",
                               owner_key=args.get("owner_key") or "",
                               profile=args.get("profile") or {})
    return {"run": run}

@executes("load.agent_rate")
def load_agent_rate(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    _run(state, args, "load.agent_rate").set_rate(float(args["rate"]))
    return {}

@executes("load.agent_targets")
def load_agent_targets(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    targets = [t for t in args["targets"] if isinstance(t, str)]
    if not targets:
        raise ProtoError("E_BAD_ARGS", "targets must be a list of SIP URIs", obj=args["run"],
                         op="load.agent_targets")
    lost = [t for t in args.get("lost", []) if isinstance(t, str)]
    _run(state, args, "load.agent_targets").retarget(targets, lost)
    return {}

@executes("load.agent_go")
def load_agent_go(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    _run(state, args, "load.agent_go").go()
    return {}

@executes("load.agent_end")
def load_agent_end(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    _run(state, args, "load.agent_end").end()
    return {}
