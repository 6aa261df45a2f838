"""Attended transfer, the transferor's side: REFER with Replaces (``call.transfer_replaces``).
The transferee takes it as any REFER, and the replaced party decides by its account's policy
(``agent.transfer.on_replace_request``)."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.handlers import Handler, _call_param, pj_errors
from agent.state import AgentState
from agent.ua_handlers import _confirmed
from proto import ProtoError


def call_transfer_replaces(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.transfer_replaces"
    call = _confirmed(state, args, op)
    if args["dest_call"] == call.gid:
        raise ProtoError("E_BAD_ARGS", "a call cannot replace itself", obj=call.gid, op=op)
    dest = state.calls.get(args["dest_call"])
    if dest is None or dest.ended:
        raise ProtoError("E_NOT_FOUND", f"no live call {args['dest_call']!r} on agent "
                         f"{state.name} (both calls of an attended transfer are on one agent)",
                         obj=args["dest_call"], op=op)
    if dest.getInfo().state != pj.PJSIP_INV_STATE_CONFIRMED:
        raise ProtoError("E_WRONG_STATE", "the call to replace must be answered (CONFIRMED)",
                         obj=dest.gid, op=op)
    with pj_errors(op, call.gid):
        call.xferReplaces(dest, _call_param(args))
    return {}


TRANSFER_HANDLERS: dict[str, Handler] = {
    "call.transfer_replaces": call_transfer_replaces,
}
