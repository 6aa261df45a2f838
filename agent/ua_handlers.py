"""Handlers of the user-agent ops beyond making and ending calls: registration, call control
(hold, re-INVITE, UPDATE), DTMF and instant messages. One handler per op, as in
``agent.handlers``; the loop merges ``UA_HANDLERS`` into its dispatch table."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent import account_config, pager, policy, rtp
from agent.handlers import Handler, _call, _call_param, pj_error, pj_errors
from agent.objects import AgentAccount, AgentCall
from agent.state import AgentState
from proto import ProtoError
from proto.ops import ACC_SETTINGS, DTMF_DIGITS


def _account(state: AgentState, args: dict[str, Any], op: str) -> AgentAccount:
    acc = state.accounts.get(args["acc"])
    if acc is None or acc.deleting:
        raise ProtoError("E_NOT_FOUND", f"no account {args['acc']!r} on this agent",
                         obj=args["acc"], op=op)
    return acc


def acc_set_registration(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Register (renew) or unregister; the outcome comes as acc.reg_state."""
    op = "acc.set_registration"
    acc = _account(state, args, op)
    if not acc.registrar:
        raise ProtoError("E_WRONG_STATE", "the account has no registrar", obj=acc.gid, op=op)
    with pj_errors(op, acc.gid):
        acc.setRegistration(bool(args["renew"]))
    return {}


def acc_modify(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Replace the replica's SIP settings (pjsua2 Account.modify); when its registration
    settings change, pjsua registers anew and the outcome comes as acc.reg_state."""
    op = "acc.modify"
    acc = _account(state, args, op)
    register = args.get("register") is not False
    try:
        cfg = account_config.build(acc.uri, args, register, acc.instance)
        acc.modify(cfg)
    except ProtoError as exc:
        raise ProtoError(exc.code, exc.msg, obj=acc.gid, op=op) from None
    except pj.Error as exc:
        raise pj_error(exc, op, acc.gid) from None
    acc.registrar = cfg.regConfig.registrarUri
    acc.instance = cfg.natConfig.sipOutboundInstanceId or acc.instance
    # acc.modify cannot change the transport: the one acc.create gave is kept
    kept = {"transport": acc.settings["transport"]} if "transport" in acc.settings else {}
    acc.settings = {**{f.name: args[f.name] for f in ACC_SETTINGS if args.get(f.name) is not None},
                    **kept}
    return {}


def _confirmed(state: AgentState, args: dict[str, Any], op: str) -> AgentCall:
    """The call of ``args``, which must be answered (CONFIRMED) for ``op``."""
    call = _call(state, args, op)
    if call.getInfo().state != pj.PJSIP_INV_STATE_CONFIRMED:
        raise ProtoError("E_WRONG_STATE", f"{op} needs an answered (CONFIRMED) call",
                         obj=call.gid, op=op)
    return call


def _bridge_room(state: AgentState, call: AgentCall, op: str) -> None:
    """A new offer re-creates the call's stream: refused while the bridge has no room."""
    if not state.bridge_room():
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name}'s conference bridge has no room "
                         "for the call's new media stream", obj=call.gid, op=op)


def call_hold(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = _confirmed(state, args, "call.hold")
    _bridge_room(state, call, "call.hold")
    with pj_errors("call.hold", call.gid):
        call.setHold(_call_param(args))
    return {}


def _offer(state: AgentState, args: dict[str, Any], op: str, unhold: bool) -> dict[str, Any]:
    """A new SDP offer by re-INVITE (or UPDATE for call.update)."""
    call = _confirmed(state, args, op)
    _bridge_room(state, call, op)
    prm = _call_param(args)
    if unhold:
        prm.opt.flag |= pj.PJSUA_CALL_UNHOLD
    with pj_errors(op, call.gid):
        if op == "call.update":
            call.update(prm)
        else:
            call.reinvite(prm)
    return {}


def call_unhold(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.unhold", unhold=True)


def call_reinvite(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.reinvite", unhold=False)


def call_update(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _offer(state, args, "call.update", unhold=False)


def call_dial_dtmf(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.dial_dtmf"
    digits = args["digits"].upper()
    bad = sorted(set(digits) - set(DTMF_DIGITS))
    if bad:
        raise ProtoError("E_BAD_ARGS", f"not DTMF digits: {''.join(bad)!r} (use {DTMF_DIGITS})",
                         obj=args["call"], op=op)
    call = _confirmed(state, args, op)
    prm = pj.CallSendDtmfParam()
    prm.digits = digits
    prm.method = (pj.PJSUA_DTMF_METHOD_SIP_INFO if args.get("method") == "info"
                  else pj.PJSUA_DTMF_METHOD_RFC2833)
    with pj_errors(op, call.gid):
        call.sendDtmf(prm)
    return {}


def acc_send_pager(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.send_pager"
    acc = _account(state, args, op)
    prm = pager.message_param(args["text"], args.get("content_type"), args.get("headers"))
    with pj_errors(op, acc.gid), pager.sending(acc.pagers, args["text"]):
        pager.send_to_uri(acc, args["uri"], prm, typing=False)
    acc.pagers.sent(args["text"], args.get("im_id") or 0)
    return {}


def acc_send_typing_ind(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.send_typing_ind"
    acc = _account(state, args, op)
    is_typing = args.get("is_typing")
    prm = pager.typing_param(True if is_typing is None else is_typing, args.get("headers"))
    with pj_errors(op, acc.gid):
        pager.send_to_uri(acc, args["uri"], prm, typing=True)
    return {}


def call_send_pager(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.send_pager"
    call = _confirmed(state, args, op)
    prm = pager.message_param(args["text"], args.get("content_type"), args.get("headers"))
    with pj_errors(op, call.gid), pager.sending(call.pagers, args["text"]):
        call.sendInstantMessage(prm)
    call.pagers.sent(args["text"], args.get("im_id") or 0)
    return {}


def call_send_typing_ind(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.send_typing_ind"
    call = _confirmed(state, args, op)
    is_typing = args.get("is_typing")
    with pj_errors(op, call.gid):
        call.sendTypingIndication(pager.typing_param(True if is_typing is None else is_typing,
                                                     args.get("headers")))
    return {}


def acc_set_policy(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    acc = _account(state, args, "acc.set_policy")
    acc.policy = policy.policy_of({**acc.policy, **{k: v for k, v in args.items() if v is not None}})
    return {}


def call_transfer(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.transfer"
    call = _confirmed(state, args, op)
    with pj_errors(op, call.gid):
        call.xfer(args["uri"], _call_param(args))
    return {}


def call_stats(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "call.stats"
    call = _call(state, args, op)
    with pj_errors(op, call.gid):
        result = rtp.stats(call)
    if result is None:
        raise ProtoError("E_WRONG_STATE", "the call has no audio stream (not answered, or ended)",
                         obj=call.gid, op=op)
    return result


UA_HANDLERS: dict[str, Handler] = {
    "acc.set_registration": acc_set_registration,
    "acc.modify": acc_modify,
    "call.hold": call_hold,
    "call.unhold": call_unhold,
    "call.reinvite": call_reinvite,
    "call.update": call_update,
    "call.dial_dtmf": call_dial_dtmf,
    "acc.send_pager": acc_send_pager,
    "acc.send_typing_ind": acc_send_typing_ind,
    "call.send_pager": call_send_pager,
    "call.send_typing_ind": call_send_typing_ind,
    "acc.set_policy": acc_set_policy,
    "call.transfer": call_transfer,
    "call.stats": call_stats,
}
