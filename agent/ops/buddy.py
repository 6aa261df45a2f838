"""Executors of the buddy ops: an account's buddies and their presence subscriptions (a buddy
lives on its account's home agent)."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.buddies import AgentBuddy
from agent.errors import pj_errors
from agent.ops.common import account_of
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError


def _buddy(state: AgentState, args: dict[str, Any], op: str) -> AgentBuddy:
    buddy: AgentBuddy | None = account_of(state, args, op).buddies.get(args["buddy"])
    if buddy is None:
        raise ProtoError("E_NOT_FOUND", f"no buddy {args['buddy']!r}", obj=args["buddy"], op=op)
    return buddy

@executes("acc.add_buddy")
def acc_add_buddy(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op, gid = "acc.add_buddy", args["buddy"]
    acc = account_of(state, args, op)
    have = acc.buddies.get(gid)
    if have is not None:  # a retried request
        return {"buddy": gid}
    cfg = pj.BuddyConfig()
    cfg.uri = args["uri"]
    cfg.subscribe = bool(args.get("subscribe"))
    buddy = AgentBuddy(state, acc, gid)
    with pj_errors(op, gid):
        buddy.create(acc, cfg)
    acc.buddies[gid] = buddy
    return {"buddy": gid}

@executes("buddy.subscribe")
def buddy_subscribe(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "buddy.subscribe"
    buddy = _buddy(state, args, op)
    with pj_errors(op, buddy.gid):
        buddy.subscribePresence(bool(args["subscribe"]))
    return {}

@executes("buddy.info")
def buddy_info(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    buddy = _buddy(state, args, "buddy.info")
    with pj_errors("buddy.info", buddy.gid):
        return buddy.info()

@executes("buddy.delete")
def buddy_delete(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    buddy = _buddy(state, args, "buddy.delete")
    del buddy.acc.buddies[buddy.gid]  # the last reference: pjsua2 deletes the buddy
    return {}
