"""Making an account replica from its settings (acc.create, a call's replica, a load run's
identities), and remembering whom it belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent import account_config, policy
from agent.errors import pj_errors
from agent.objects import AgentAccount
from agent.state import AgentState
from proto import ProtoError
from proto.ops import ACC_SIP


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
    """Remember the owner the coordinator named (agent args ``owner``, ``owner_key``), and
    whether the object outlives that client's lease (``persistent``)."""
    if args.get("owner"):
        obj.owner, obj.owner_key = args["owner"], args.get("owner_key") or ""
    if args.get("persistent") is not None:
        obj.persistent = bool(args["persistent"])
