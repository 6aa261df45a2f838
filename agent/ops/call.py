"""Executors of the call ops: make, answer, hang up, information, hold and offers, DTMF,
messages and typing in a call, blind and attended transfer, RTP statistics."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent import account_config, pager, rtp
from agent.accounts import create_account, keep_owner
from agent.errors import PJ_ETOOMANY, pj_error, pj_errors
from agent.objects import AgentCall
from agent.ops.common import (
    bridge_room,
    call_param,
    confirmed_call,
    early_or_confirmed_call,
    live_call,
    transfer_param,
)
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError
from proto.ops import DTMF_DIGITS


@executes("call.make")
def call_make(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Make a call; creates the account replica first when ``acc_cfg`` is given."""
    gid, acc_id = args["call"], args["acc"]
    if gid in state.calls:
        return {"call": gid, "agent": state.name}  # a retried request: same call
    if state.free_slots() <= 0:
        raise ProtoError("E_NO_CAPACITY", f"all {state.capacity} call slots of agent "
                         f"{state.name} are busy", obj=gid)
    streams = args.get("audio_count") or 1
    if not state.budget.can_take(2 * (streams - 1)):
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name} is out of its socket budget "
                         f"({state.budget.free()} free)", obj=gid)
    acc = state.accounts.get(acc_id)
    replica = acc is None or acc.deleting
    if replica:
        cfg = args.get("acc_cfg")
        if not cfg or not isinstance(cfg.get("uri"), str):
            raise ProtoError("E_NOT_FOUND", f"no account {acc_id!r} on this agent", obj=acc_id)
        cfg = account_config.check_replica_cfg(cfg, acc_id)
        acc = create_account(state, acc_id, cfg["uri"], cfg.get("auto_answer"), sip=cfg,
                             register=False)
        keep_owner(acc, args)
        acc.persistent = False  # ``persistent`` is the call's; the account's home keeps its own
    assert acc is not None
    call = AgentCall(state, acc, gid)
    call.allow_streams(streams)
    keep_owner(call, args)
    state.calls[gid] = call
    try:
        call.makeCall(args["uri"], call_param(args))
    except pj.Error as exc:
        call.finish()
        state.drop_events(gid)
        if replica:  # the coordinator counts no replica for a failed call: leave none
            acc.deleting = True
            state.reap()
        if exc.status == PJ_ETOOMANY:  # a slot of an ended call is still being released
            raise ProtoError("E_NO_CAPACITY", f"agent {state.name} has no free call slot yet",
                             obj=gid, op="call.make") from None
        raise pj_error(exc, "call.make", gid) from None
    return {"call": gid, "agent": state.name}

@executes("call.answer")
def call_answer(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = live_call(state, args, "call.answer")
    ci = call.getInfo()
    if ci.role != pj.PJSIP_ROLE_UAS or ci.state not in (pj.PJSIP_INV_STATE_INCOMING,
                                                        pj.PJSIP_INV_STATE_EARLY):
        raise ProtoError("E_WRONG_STATE", "only an incoming call that is not yet answered can be "
                         "answered", obj=call.gid, op="call.answer")
    with pj_errors("call.answer", call.gid):
        call.answer(call_param(args, args.get("code") or 200))
    return {}

@executes("call.hangup")
def call_hangup(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = live_call(state, args, "call.hangup")
    with pj_errors("call.hangup", call.gid):
        call.hangup(call_param(args, args.get("code")))
    return {}

@executes("call.info")
def call_info(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = live_call(state, args, "call.info")
    with pj_errors("call.info", call.gid):
        return call.info()

@executes("call.hold")
def call_hold(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = confirmed_call(state, args, "call.hold")
    bridge_room(state, call, "call.hold")
    with pj_errors("call.hold", call.gid):
        call.setHold(call_param(args))
    return {}

def _offer(state: AgentState, args: dict[str, Any], op: str, unhold: bool) -> dict[str, Any]:
    """A new SDP offer by re-INVITE (or UPDATE for call.update, which pjsua also sends in an
    early dialog: a call that rings, once the peer's provisional response made the dialog)."""
    call = early_or_confirmed_call(state, args, op) if op == "call.update" else \
        confirmed_call(state, args, op)
    bridge_room(state, call, op)
    prm = call_param(args)
    if unhold:
        prm.opt.flag |= pj.PJSUA_CALL_UNHOLD
    with pj_errors(op, call.gid):
        if op == "call.update":
            call.update(prm)
        else:
            call.reinvite(prm)
    return {}

@executes("call.unhold")
def call_unhold(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.unhold", unhold=True)

@executes("call.reinvite")
def call_reinvite(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.reinvite", unhold=False)

@executes("call.update")
def call_update(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.update", unhold=False)

@executes("call.dial_dtmf")
def call_dial_dtmf(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.dial_dtmf"
    digits = args["digits"].upper()
    bad = sorted(set(digits) - set(DTMF_DIGITS))
    if bad:
        raise ProtoError("E_BAD_ARGS", f"not DTMF digits: {''.join(bad)!r} (use {DTMF_DIGITS})",
                         obj=args["call"], op=op)
    call = confirmed_call(state, args, op)
    prm = pj.CallSendDtmfParam()
    prm.digits = digits
    prm.method = (pj.PJSUA_DTMF_METHOD_SIP_INFO if args.get("method") == "info"
                  else pj.PJSUA_DTMF_METHOD_RFC2833)
    with pj_errors(op, call.gid):
        call.sendDtmf(prm)
    return {}

@executes("call.send_pager")
def call_send_pager(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.send_pager"
    call = confirmed_call(state, args, op)
    prm = pager.message_param(args["text"], args.get("content_type"), args.get("headers"))
    with pj_errors(op, call.gid), pager.sending(call.pagers, args["text"]):
        call.sendInstantMessage(prm)
    call.pagers.sent(args["text"], args.get("im_id") or 0)
    return {}

@executes("call.send_typing_ind")
def call_send_typing_ind(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.send_typing_ind"
    call = confirmed_call(state, args, op)
    is_typing = args.get("is_typing")
    with pj_errors(op, call.gid):
        call.sendTypingIndication(pager.typing_param(True if is_typing is None else is_typing,
                                                     args.get("headers")))
    return {}

@executes("call.transfer")
def call_transfer(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.transfer"
    call = confirmed_call(state, args, op)
    with pj_errors(op, call.gid):
        call.transfer_done = False
        call.xfer(args["uri"], transfer_param(args))
    return {}

@executes("call.transfer_replaces")
def call_transfer_replaces(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.transfer_replaces"
    call = confirmed_call(state, args, op)
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
        call.transfer_done = False
        call.xferReplaces(dest, transfer_param(args))
    return {}

@executes("call.stats")
def call_stats(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.stats"
    call = live_call(state, args, op)
    with pj_errors(op, call.gid):
        result = rtp.stats(call)
    if result is None:
        raise ProtoError("E_WRONG_STATE", "the call has no audio stream (not answered, or ended)",
                         obj=call.gid, op=op)
    return result
