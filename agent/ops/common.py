"""What the executors of several groups share: finding the call or account a request names,
and the pjsua2 parameters built from its arguments."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.headers import header_vector
from agent.objects import AgentAccount, AgentCall
from agent.state import AgentState
from proto import ProtoError


def sip_headers(args: dict[str, Any]) -> Any:
    """The request's extra headers as a pjsua2 SipTxOption-ready vector."""
    return header_vector(args.get("headers"))

def call_param(args: dict[str, Any], code: int | None = None) -> Any:
    prm = pj.CallOpParam(True)
    if code is not None:
        prm.statusCode = code
    if args.get("reason"):
        prm.reason = args["reason"]
    prm.txOption.headers = sip_headers(args)
    if args.get("audio_count"):
        prm.opt.audioCount = args["audio_count"]
    return prm

def transfer_param(args: dict[str, Any]) -> Any:
    """A REFER's parameters; ``refer_sub`` false adds ``Refer-Sub: false`` (RFC 4488), which
    pjsua reads to report the transfer done when the peer accepts it."""
    prm = call_param(args)
    if args.get("refer_sub") is False:
        prm.txOption.headers = header_vector({**(args.get("headers") or {}), "Refer-Sub": "false"})
    return prm

def live_call(state: AgentState, args: dict[str, Any], op: str) -> AgentCall:
    call = state.calls.get(args["call"])
    if call is None or call.ended:
        raise ProtoError("E_NOT_FOUND", f"no live call {args['call']!r} on this agent",
                         obj=args["call"], op=op)
    return call

def confirmed_call(state: AgentState, args: dict[str, Any], op: str) -> AgentCall:
    """The call of ``args``, which must be answered (CONFIRMED) for ``op``."""
    call = live_call(state, args, op)
    if call.getInfo().state != pj.PJSIP_INV_STATE_CONFIRMED:
        raise ProtoError("E_WRONG_STATE", f"{op} needs an answered (CONFIRMED) call",
                         obj=call.gid, op=op)
    return call

def early_or_confirmed_call(state: AgentState, args: dict[str, Any], op: str) -> AgentCall:
    """The call of ``args``, in an early dialog (EARLY: a provisional response with a tag) or
    answered (CONNECTING, CONFIRMED)."""
    call = live_call(state, args, op)
    if call.getInfo().state not in (pj.PJSIP_INV_STATE_EARLY, pj.PJSIP_INV_STATE_CONNECTING,
                                    pj.PJSIP_INV_STATE_CONFIRMED):
        raise ProtoError("E_WRONG_STATE", f"{op} needs a ringing (EARLY) or answered call",
                         obj=call.gid, op=op)
    return call


def account_of(state: AgentState, args: dict[str, Any], op: str) -> AgentAccount:
    acc = state.accounts.get(args["acc"])
    if acc is None or acc.deleting:
        raise ProtoError("E_NOT_FOUND", f"no account {args['acc']!r} on this agent",
                         obj=args["acc"], op=op)
    return acc

def bridge_room(state: AgentState, call: AgentCall, op: str) -> None:
    """A new offer re-creates the call's stream: refused while the bridge has no room."""
    if not state.bridge_room():
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name}'s conference bridge has no room "
                         "for the call's new media stream", obj=call.gid, op=op)
