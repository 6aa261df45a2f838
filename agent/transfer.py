"""Blind transfer (REFER): the transferee's decision, taken inside pjsua2's callback by the
account's policy set in advance (callbacks never wait on the network), the new call it makes,
and the transferor's progress reports.

An accepted REFER makes pjsua start a new call at once, inside the same callback chain. pjsua2
binds that call to the Call object handed over in ``prm.newCall`` (without one it would rebind
the *original* Call object to the new call), so the agent always hands over a fresh AgentCall
with a new global id, announced by the ``call.transfer_request`` event before the new call's
own events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from agent import policy

if TYPE_CHECKING:
    from agent.objects import AgentAccount, AgentCall

#: the response to a REFER that the policy rejects, unless it names another one
DEFAULT_REJECT_CODE = 603


def on_request(call: AgentCall, prm: Any) -> None:
    """An incoming REFER on ``call``: accept (202) or reject, as the account's policy says."""
    state = call.state
    acc = state.accounts.get(call.acc_id)
    new_gid = ""
    if call.observer is not None:  # a load-run call: its run decides (agent.load)
        if call.on_transfer is not None:
            call.on_transfer(call, prm)
        else:
            prm.statusCode = DEFAULT_REJECT_CODE
        return
    if acc is None or acc.deleting:
        prm.statusCode = 503
    elif acc.policy["transfer"] != "accept":
        prm.statusCode = acc.policy["transfer_code"]
    elif state.free_slots() <= 0 or not state.budget.can_take():
        prm.statusCode = 503  # no room here for the new call
    else:
        new_gid = _adopt(call, acc, prm)
    state.emit("call.transfer_request", call.gid, {
        "uri": str(prm.dstUri), "code": int(prm.statusCode), "new_call": new_gid,
        "agent": state.name})


def _adopt(call: AgentCall, acc: AgentAccount, prm: Any) -> str:
    """A fresh AgentCall of ``acc``, with a new global id, for pjsua to bind the call it starts
    (``prm.newCall``); ``call`` drops it if pjsua never starts it."""
    new_gid = call.state.new_incoming_id()
    adopt(call, type(call)(call.state, acc, new_gid), prm)
    return new_gid


def adopt(call: AgentCall, child: AgentCall, prm: Any) -> None:
    """``child`` is the call pjsua starts for the REFER ``call`` accepted."""
    call.state.calls[child.gid] = child
    call.children.append(child)
    prm.newCall = child


def on_status(call: AgentCall, prm: Any) -> None:
    """A NOTIFY about a REFER this call sent: the new call's progress at the transferee. Only
    the first final report of a REFER goes out."""
    if call.transfer_done:
        return
    call.transfer_done = bool(prm.finalNotify)
    if call.observer is not None:
        if call.on_transfer_status is not None:
            call.on_transfer_status(call, int(prm.statusCode), bool(prm.finalNotify))
    else:
        call.state.emit("call.transfer_status", call.gid, {
            "code": int(prm.statusCode), "reason": str(prm.reason),
            "final": bool(prm.finalNotify)})


def on_replace_request(call: AgentCall, prm: Any) -> None:
    """An INVITE with Replaces names ``call`` (attended transfer): accept, and a fresh AgentCall
    takes its place (pjsua answers it at once and ends ``call``), or reject, as the account's
    policy says. As for REFER, pjsua2 binds the new call to the object in ``prm.newCall``."""
    state = call.state
    acc = state.accounts.get(call.acc_id)
    if call.observer is not None:  # load-run calls are never replaced
        prm.statusCode = DEFAULT_REJECT_CODE
        return
    new_gid = ""
    if acc is None or acc.deleting:
        prm.statusCode = 503
    else:
        prm.statusCode = policy.decide(acc.policy, "replaces", int(prm.statusCode) or 200)
        if prm.statusCode < 300 and (state.free_slots() <= 0 or not state.budget.can_take()):
            prm.statusCode = 503  # no room here for the new call
    if acc is not None and prm.statusCode < 300:
        new_gid = _adopt(call, acc, prm)
    state.emit("call.replace_request", call.gid, {
        "code": int(prm.statusCode), "new_call": new_gid, "from_uri": header(prm.rdata, "from"),
        "agent": state.name})


def header(rdata: Any, name: str) -> str:
    """A header's value in a received request ('' when absent); compact forms not needed for
    From (``f``) are not handled."""
    short = {"from": "f", "to": "t"}.get(name, name)
    for line in str(rdata.wholeMsg).split("\r\n")[1:]:
        if not line:
            break
        key, _, value = line.partition(":")
        if key.strip().lower() in (name, short):
            return value.strip()
    return ""


def drop_unborn(call: AgentCall) -> None:
    """When ``call`` ends: a call it accepted to make by transfer that pjsua never started (the
    start failed) ends too, so that it holds no slot."""
    for child in call.children:
        if not child.ended and child.getId() == pj.PJSUA_INVALID_ID:
            if child.observer is not None:  # a load run's: its run was told (agent.load)
                child.finish()
                continue
            call.state.emit("call.state", child.gid, {
                "state": "DISCONNECTED", "code": 500, "reason": "the transfer call did not start",
                "remote_uri": "", "call_id": "", "role": "caller", "agent": call.state.name})
            child.finish()
    call.children.clear()
