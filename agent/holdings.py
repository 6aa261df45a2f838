"""What an agent holds, as a restarted coordinator needs it to own the objects again.

An agent keeps, for each object the coordinator made it create, what the coordinator knew: the
owner (the client's routing id, and its CURVE key), an account's settings (registrar and
credentials included: the coordinator keeps them as desired state), whether this agent is the
account's home, its policy and buddies; a call's account, owner, role, state and the ``seq`` of
its last event; media objects' owners; and, in the hello's ``loads``, its load-run parts
(``LoadGen.holding``: owner, profile, and every call counted so far). When the agent says
hello to a coordinator that did not admit it, the hello carries these holdings (PROTOCOL.md
section 9, Adoption). They never appear in events, replies, logs or status.

Bounded: the whole hello must pass the frame limits (``proto.limits``); when it does not, the
holdings are left out and the coordinator tells the agent to reset, as before adoption existed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import proto
from agent.state import ENDED_KEEP_S, AgentState
from proto import ProtoError

if TYPE_CHECKING:
    from agent.objects import AgentAccount, AgentCall


def _account(acc: AgentAccount) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "acc": acc.gid, "uri": acc.uri, "owner": acc.owner, "owner_key": acc.owner_key,
        "home": acc.home, "everywhere": acc.everywhere, "settings": dict(acc.settings),
        "policy": dict(acc.policy),
        "buddies": [_buddy(gid, b) for gid, b in acc.buddies.items()]}
    if acc.persistent:
        entry["persistent"] = True
    if acc.auto_answer is not None:
        entry["auto_answer"] = acc.auto_answer
    return entry


def _buddy(gid: str, buddy: Any) -> dict[str, Any]:
    try:
        info = buddy.getInfo()
        uri, subscribe = str(info.uri), bool(info.presMonitorEnabled)
    except Exception:  # pjsua2 may refuse an object being deleted: report what we can
        uri, subscribe = "", False
    return {"buddy": gid, "uri": uri, "subscribe": subscribe}


def _call(state: AgentState, call: AgentCall) -> dict[str, Any]:
    entry: dict[str, Any] = {"call": call.gid, "acc": call.acc_id, "owner": call.owner,
                             "owner_key": call.owner_key, "seq": state.seq_of(call.gid)}
    if call.persistent:
        entry["persistent"] = True
    try:
        entry.update(call.last_state())
    except Exception:  # pjsua2 refuses getInfo on a call going away: it ends soon anyway
        entry.update(state="DISCONNECTED", code=0, reason="", remote_uri="", call_id="",
                     role="")
    return entry


def collect(state: AgentState) -> dict[str, Any]:
    """Everything the agent holds for its clients. Load runs' calls and accounts, and calls the
    agent refuses by itself, are not clients' objects: left out (a run reports through the
    hello's ``loads``)."""
    of_runs = {acc.gid for gen in state.loads.values()
               for acc in (*gen.caller_accs, gen.answer_acc) if acc is not None}
    return {
        "accounts": [_account(a) for a in state.accounts.values()
                     if not a.deleting and a.gid not in of_runs],
        "calls": [_call(state, c) for c in state.calls.values()
                  if c.observer is None and not c.ended],
        "ended": [entry for at, entry in state.ended_calls
                  if time.monotonic() - at < ENDED_KEEP_S and entry["owner"]],
        "media": [{"media": m.gid, "owner": m.owner, "owner_key": m.owner_key,
                   **({"persistent": True} if m.persistent else {})}
                  for m in state.media.values()],
        "ids": state.ids_seen,
    }


def hello_args(hello: dict[str, Any], state: AgentState, admitted_by: str,
               hello_id: str) -> dict[str, Any]:
    """The hello's arguments: the counts, the id of the coordinator that admitted the agent
    last and, when the agent holds anything, its holdings if the hello still fits a frame."""
    args = dict(hello, calls=len(state.calls), accounts=len(state.accounts),
                media=len(state.media))
    if admitted_by:
        args["admitted_by"] = admitted_by
    if not (state.calls or state.accounts or state.media or state.loads):
        return args
    with_holdings = dict(args, holdings=collect(state),
                         loads=[gen.holding() for gen in state.loads.values()])
    try:  # the coordinator decodes what fits the limits only (size, depth, lengths)
        proto.decode(proto.encode(proto.req("agent.hello", with_holdings, hello_id)))
    except ProtoError:
        return args
    return with_holdings
