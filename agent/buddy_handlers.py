"""Buddies and presence: an account's buddies (pjsua2 ``Buddy``), their presence subscriptions
and the account's own published status. One handler per op; a buddy lives on its account's
home agent, and its state changes become ``acc.buddy_state`` events of that account."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.handlers import Handler, pj_errors
from agent.objects import AgentAccount, guarded
from agent.state import AgentState
from agent.ua_handlers import _account
from proto import ProtoError

_STATUSES = {pj.PJSUA_BUDDY_STATUS_ONLINE: "online", pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline"}
_ACTIVITIES = {"unknown": pj.PJRPID_ACTIVITY_UNKNOWN, "away": pj.PJRPID_ACTIVITY_AWAY,
               "busy": pj.PJRPID_ACTIVITY_BUSY}
_ACTIVITY_NAMES = {v: k for k, v in _ACTIVITIES.items()}
_SUB_STATES = ("NULL", "SENT", "ACCEPTED", "PENDING", "ACTIVE", "TERMINATED", "UNKNOWN")


class AgentBuddy(pj.Buddy):  # type: ignore[misc]
    """One buddy of one account; ``gid`` is its global id."""

    def __init__(self, state: AgentState, acc: AgentAccount, gid: str) -> None:
        super().__init__()
        self.state = state
        self.acc = acc
        self.gid = gid
        #: what the last acc.buddy_state said: an event goes out only on a real change
        self.reported: dict[str, Any] = {}

    def info(self) -> dict[str, Any]:
        bi = self.getInfo()
        ps = bi.presStatus
        sub = int(bi.subState)
        return {"uri": str(bi.uri), "contact": str(bi.contact),
                "status": _STATUSES.get(ps.status, "unknown"), "status_text": str(ps.statusText),
                "note": str(ps.note), "activity": _ACTIVITY_NAMES.get(ps.activity, "unknown"),
                "monitoring": bool(bi.presMonitorEnabled),
                "sub_state": _SUB_STATES[sub] if 0 <= sub < len(_SUB_STATES) else "UNKNOWN",
                "sub_code": max(0, int(bi.subTermCode)), "sub_reason": str(bi.subTermReason)}

    def report(self) -> None:
        now = self.info()
        if now != self.reported:
            self.reported = now
            self.state.emit("acc.buddy_state", self.acc.gid, {"buddy": self.gid, **now})

    @guarded
    def onBuddyState(self) -> None:
        self.report()

    @guarded
    def onBuddyEvSubState(self, prm: Any) -> None:
        self.report()


def _buddy(state: AgentState, args: dict[str, Any], op: str) -> AgentBuddy:
    buddy: AgentBuddy | None = _account(state, args, op).buddies.get(args["buddy"])
    if buddy is None:
        raise ProtoError("E_NOT_FOUND", f"no buddy {args['buddy']!r}", obj=args["buddy"], op=op)
    return buddy


def acc_add_buddy(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op, gid = "acc.add_buddy", args["buddy"]
    acc = _account(state, args, op)
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


def buddy_subscribe(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "buddy.subscribe"
    buddy = _buddy(state, args, op)
    with pj_errors(op, buddy.gid):
        buddy.subscribePresence(bool(args["subscribe"]))
    return {}


def buddy_info(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    buddy = _buddy(state, args, "buddy.info")
    with pj_errors("buddy.info", buddy.gid):
        return buddy.info()


def buddy_delete(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    buddy = _buddy(state, args, "buddy.delete")
    del buddy.acc.buddies[buddy.gid]  # the last reference: pjsua2 deletes the buddy
    return {}


def acc_set_presence(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "acc.set_presence"
    acc = _account(state, args, op)
    ps = pj.PresenceStatus()
    ps.status = pj.PJSUA_BUDDY_STATUS_ONLINE if args["online"] else pj.PJSUA_BUDDY_STATUS_OFFLINE
    ps.activity = _ACTIVITIES[args.get("activity") or "unknown"]
    ps.note = args.get("note") or ""
    with pj_errors(op, acc.gid):
        acc.setOnlineStatus(ps)
    return {}


BUDDY_HANDLERS: dict[str, Handler] = {
    "acc.add_buddy": acc_add_buddy,
    "buddy.subscribe": buddy_subscribe,
    "buddy.info": buddy_info,
    "buddy.delete": buddy_delete,
    "acc.set_presence": acc_set_presence,
}
