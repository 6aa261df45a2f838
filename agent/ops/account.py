"""Executors of the account ops: create and delete replicas, registration, settings, policy,
presence, instant messages and typing outside calls."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent import account_config, pager, policy
from agent.accounts import create_account, keep_owner
from agent.buddies import ACTIVITIES
from agent.errors import pj_error, pj_errors
from agent.ops.common import account_of, call_param
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError
from proto.ops import ACC_SETTINGS


@executes("acc.create")
def acc_create(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Create a local account replica. Idempotent for the same id and URI."""
    gid = args["acc"]
    have = state.accounts.get(gid)
    if have is not None and not have.deleting:
        if have.uri != args["uri"]:
            raise ProtoError("E_DUPLICATE", f"account {gid!r} exists with another URI", obj=gid)
        return {"acc": gid, "agent": state.name}
    acc = create_account(state, gid, args["uri"], args.get("auto_answer"), sip=args)
    keep_owner(acc, args)
    acc.home = bool(args.get("home"))
    acc.everywhere = args.get("replicas") == "all"
    return {"acc": gid, "agent": state.name}

@executes("acc.delete")
def acc_delete(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Hang up the account's calls; the account itself goes once they are gone (see reap)."""
    gid = args["acc"]
    acc = state.accounts.get(gid)
    if acc is None or acc.deleting:
        raise ProtoError("E_NOT_FOUND", f"no account {gid!r} on this agent", obj=gid)
    acc.deleting = True
    for call in [c for c in state.calls.values() if c.acc_id == gid]:
        try:
            call.hangup(call_param({}))
        except pj.Error:
            pass  # already disconnecting: its DISCONNECTED state will drop it
    state.reap()
    return {}

@executes("acc.set_registration")
def acc_set_registration(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Register (renew) or unregister; the outcome comes as acc.reg_state."""
    op = "acc.set_registration"
    acc = account_of(state, args, op)
    if not acc.registrar:
        raise ProtoError("E_WRONG_STATE", "the account has no registrar", obj=acc.gid, op=op)
    with pj_errors(op, acc.gid):
        acc.setRegistration(bool(args["renew"]))
    return {}

@executes("acc.modify")
def acc_modify(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Replace the replica's SIP settings (pjsua2 Account.modify); when its registration
    settings change, pjsua registers anew and the outcome comes as acc.reg_state."""
    op = "acc.modify"
    acc = account_of(state, args, op)
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

@executes("acc.set_policy")
def acc_set_policy(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    acc = account_of(state, args, "acc.set_policy")
    acc.policy = policy.policy_of({**acc.policy, **{k: v for k, v in args.items() if v is not None}})
    return {}

@executes("acc.set_presence")
def acc_set_presence(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.set_presence"
    acc = account_of(state, args, op)
    ps = pj.PresenceStatus()
    ps.status = pj.PJSUA_BUDDY_STATUS_ONLINE if args["online"] else pj.PJSUA_BUDDY_STATUS_OFFLINE
    ps.activity = ACTIVITIES[args.get("activity") or "unknown"]
    ps.note = args.get("note") or ""
    with pj_errors(op, acc.gid):
        acc.setOnlineStatus(ps)
    return {}

@executes("acc.send_pager")
def acc_send_pager(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.send_pager"
    acc = account_of(state, args, op)
    prm = pager.message_param(args["text"], args.get("content_type"), args.get("headers"))
    with pj_errors(op, acc.gid), pager.sending(acc.pagers, args["text"]):
        pager.send_to_uri(acc, args["uri"], prm, typing=False)
    acc.pagers.sent(args["text"], args.get("im_id") or 0)
    return {}

@executes("acc.send_typing_ind")
def acc_send_typing_ind(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.send_typing_ind"
    acc = account_of(state, args, op)
    is_typing = args.get("is_typing")
    prm = pager.typing_param(True if is_typing is None else is_typing, args.get("headers"))
    with pj_errors(op, acc.gid):
        pager.send_to_uri(acc, args["uri"], prm, typing=True)
    return {}
