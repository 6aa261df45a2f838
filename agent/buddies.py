"""An account's buddies (pjsua2 ``Buddy``): their presence as the wire tells it, and their
changes as ``acc.buddy_state`` events of the account."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent.objects import AgentAccount, guarded
from agent.state import AgentState

_STATUSES = {pj.PJSUA_BUDDY_STATUS_ONLINE: "online", pj.PJSUA_BUDDY_STATUS_OFFLINE: "offline"}

ACTIVITIES = {"unknown": pj.PJRPID_ACTIVITY_UNKNOWN, "away": pj.PJRPID_ACTIVITY_AWAY,
               "busy": pj.PJRPID_ACTIVITY_BUSY}

_ACTIVITY_NAMES = {v: k for k, v in ACTIVITIES.items()}

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
