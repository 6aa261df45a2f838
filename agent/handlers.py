"""One handler per op the agent executes, and the dispatch table that maps op names to them.

A handler takes the agent's state and the request's (validated) arguments, and returns the
reply's result map or raises ProtoError. pjsua2 errors become E_PJSIP with their pj_status_t.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pjsua2 as pj

from agent import account_config, policy
from agent.objects import AgentAccount, AgentCall
from agent.state import AgentState
from proto import ProtoError, limits
from proto.ops import ACC_SIP

Handler = Callable[[AgentState, dict[str, Any]], dict[str, Any]]

#: pj_status_t of "too many objects" (pjsua's call table is full)
PJ_ETOOMANY = 70010


#: pj_status_t of "message too long" (PJSIP_EMSGTOOLONG): the request exceeds PJSIP's buffer
PJSIP_EMSGTOOLONG = 171023


def pj_error(exc: Exception, op: str, obj: str) -> ProtoError:
    """A pjsua2 exception as a protocol error, keeping PJSIP's status and text. A request PJSIP
    could not fit in its buffer is the caller's to shorten: E_BAD_ARGS (nothing was sent)."""
    status = int(getattr(exc, "status", 0) or 0)
    text = getattr(exc, "reason", "") or str(exc)
    if status == PJSIP_EMSGTOOLONG:
        return ProtoError("E_BAD_ARGS", f"{op}: the SIP request would be longer than PJSIP's "
                          f"{limits.MAX_SIP_MESSAGE} bytes: shorten the text, the URIs or the "
                          "extra headers (nothing was sent)", status=status, obj=obj, op=op)
    return ProtoError("E_PJSIP", text, status=status, obj=obj, op=op)


@contextmanager
def pj_errors(op: str, obj: str) -> Iterator[None]:
    """Inside the block, a pjsua2 exception becomes the op's protocol error (pj_error)."""
    try:
        yield
    except pj.Error as exc:
        raise pj_error(exc, op, obj) from None


def _headers(args: dict[str, Any]) -> Any:
    """Extra headers as a pjsua2 SipTxOption-ready vector."""
    vec = pj.SipHeaderVector()
    for name, value in (args.get("headers") or {}).items():
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        vec.append(h)
    return vec


def _call_param(args: dict[str, Any], code: int | None = None) -> Any:
    prm = pj.CallOpParam(True)
    if code is not None:
        prm.statusCode = code
    if args.get("reason"):
        prm.reason = args["reason"]
    prm.txOption.headers = _headers(args)
    return prm


def _call(state: AgentState, args: dict[str, Any], op: str) -> AgentCall:
    call = state.calls.get(args["call"])
    if call is None or call.ended:
        raise ProtoError("E_NOT_FOUND", f"no live call {args['call']!r} on this agent",
                         obj=args["call"], op=op)
    return call


def create_account(state: AgentState, gid: str, uri: str, auto_answer: int | None,
                   sip: Mapping[str, Any] | None = None, register: bool = True) -> AgentAccount:
    """``sip``: the ACC_SIP settings (registrar, credentials, proxy) and ACC_POLICY; replicas
    pass ``register=False`` (only the home agent registers)."""
    # accounts being deleted still hold their pjsua slot until their calls are gone
    if len(state.accounts) >= state.max_accounts:
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name} holds its maximum of "
                         f"{state.max_accounts} accounts", obj=gid, op="acc.create")
    sip = sip or {}
    acc = AgentAccount(state, gid, uri, auto_answer)
    cfg = account_config.build(uri, sip, register)
    acc.registrar = cfg.regConfig.registrarUri
    acc.instance = cfg.natConfig.sipOutboundInstanceId
    acc.policy = policy.policy_of(sip)
    acc.settings = {f.name: sip[f.name] for f in ACC_SIP if sip.get(f.name) is not None}
    with pj_errors("acc.create", gid):
        acc.create(cfg)
    state.accounts[gid] = acc
    return acc


def keep_owner(obj: Any, args: Mapping[str, Any]) -> None:
    """Remember the owner the coordinator named (agent args ``owner``, ``owner_key``)."""
    if args.get("owner"):
        obj.owner, obj.owner_key = args["owner"], args.get("owner_key") or ""


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


def acc_delete(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Hang up the account's calls; the account itself goes once they are gone (see reap)."""
    gid = args["acc"]
    acc = state.accounts.get(gid)
    if acc is None or acc.deleting:
        raise ProtoError("E_NOT_FOUND", f"no account {gid!r} on this agent", obj=gid)
    acc.deleting = True
    for call in [c for c in state.calls.values() if c.acc_id == gid]:
        try:
            call.hangup(_call_param({}))
        except pj.Error:
            pass  # already disconnecting: its DISCONNECTED state will drop it
    state.reap()
    return {}


def call_make(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """Make a call; creates the account replica first when ``acc_cfg`` is given."""
    gid, acc_id = args["call"], args["acc"]
    if gid in state.calls:
        return {"call": gid, "agent": state.name}  # a retried request: same call
    if state.free_slots() <= 0:
        raise ProtoError("E_NO_CAPACITY", f"all {state.capacity} call slots of agent "
                         f"{state.name} are busy", obj=gid)
    if not state.budget.can_take():
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
    assert acc is not None
    call = AgentCall(state, acc, gid)
    keep_owner(call, args)
    state.calls[gid] = call
    try:
        call.makeCall(args["uri"], _call_param(args))
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


def call_answer(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = _call(state, args, "call.answer")
    ci = call.getInfo()
    if ci.role != pj.PJSIP_ROLE_UAS or ci.state not in (pj.PJSIP_INV_STATE_INCOMING,
                                                        pj.PJSIP_INV_STATE_EARLY):
        raise ProtoError("E_WRONG_STATE", "only an incoming call that is not yet answered can be "
                         "answered", obj=call.gid, op="call.answer")
    with pj_errors("call.answer", call.gid):
        call.answer(_call_param(args, args.get("code") or 200))
    return {}


def call_hangup(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = _call(state, args, "call.hangup")
    with pj_errors("call.hangup", call.gid):
        call.hangup(_call_param(args, args.get("code")))
    return {}


def call_info(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    call = _call(state, args, "call.info")
    with pj_errors("call.info", call.gid):
        return call.info()


HANDLERS: dict[str, Handler] = {
    "acc.create": acc_create,
    "acc.delete": acc_delete,
    "call.make": call_make,
    "call.answer": call_answer,
    "call.hangup": call_hangup,
    "call.info": call_info,
}
