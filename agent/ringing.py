"""Auto-answered calls that ring first (an account's ``ring`` policy): the agent sent 180
Ringing when the call arrived and answers it here, from its loop, once the ring time is over
(a call that ended meanwhile is forgotten)."""

from __future__ import annotations

import time

import pjsua2 as pj

from agent.state import AgentState


def answer_due(state: AgentState, now: float | None = None) -> int:
    """Answer the calls whose ring time is over; how many were answered."""
    if not state.ringing:
        return 0
    now = time.monotonic() if now is None else now
    answered = 0
    for gid, (due, code) in list(state.ringing.items()):
        call = state.calls.get(gid)
        if call is None or call.ended:
            del state.ringing[gid]
            continue
        if due > now:
            continue
        del state.ringing[gid]
        op = pj.CallOpParam()
        op.statusCode = code
        try:
            call.answer(op)
            answered += 1
        except pj.Error:
            pass  # the caller gave up at this moment: its DISCONNECTED follows
    return answered
