"""Admission of incoming calls under the socket budget, so that no INVITE flood can exhaust
PJSIP's 64-slot ioqueue (which aborts the process).

PJSIP opens a call's two media sockets *before* ``onIncomingCall`` runs, and pjsua refuses an
INVITE by itself (486, statelessly, with no socket) only while its call table is full. So the
sockets a flood costs are decided by how fast call slots free up, and by how often PJSIP gets to
read the SIP socket. Two rules keep the agent inside its budget (``agent.budget``):

1. **Gate.** PJSIP gets a turn only while every free call slot could fill at once and still
   leave room under ``HARD_LIMIT`` (``pjsip_may_run``). Otherwise the loop keeps serving ZeroMQ
   and heartbeats and waits for closed sockets' slots to be released (~0.5 s); INVITEs wait in
   the kernel's buffer. (Outgoing calls have their own, lower limit: ``budget.can_take``.)
2. **Parking.** Within one PJSIP turn a slot freed by a BYE can be taken by the next INVITE of the
   same batch (PJSIP reads up to 50 packets per turn). A call that arrives while the budget is
   already spent is *parked*: it gets no answer yet and keeps its slot, so nothing cascades. It is
   served as usual as soon as the budget allows, or refused with 503 after ``PARK_MAX_S``.
3. **Brake.** A slot freed by the *caller* (CANCEL) cannot be held: an INVITE+CANCEL storm still
   cascades through one batch. So ``onIncomingCall`` first waits (blocking the loop, at most
   ``budget.linger_s``) until this call and the next one fit under ``HARD_LIMIT``. Every call
   that gets sockets reaches ``onIncomingCall`` (pjsua2 calls it from media transport creation,
   before any SDP check), so the count is never more than one call behind PJSIP.

Measured (tests/faults/test_flood.py, 2 cores): ``sipp -sn uac -r 500`` to an auto-answering
account peaks at 56 counted sockets with no brake; an INVITE+CANCEL storm at 300/s peaks at 58
with ~50 brakes (3.5 s of waits in 5 s); self-answered churn (``callfleet run``) is not slowed.

The clock is time.monotonic; the pjsua2 calls are the call objects' own.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

if TYPE_CHECKING:
    from agent.objects import AgentCall, Observer
    from agent.state import AgentState

#: longest a parked call waits for the budget before it is refused with 503
PARK_MAX_S = 2.0
#: most sockets ever counted: PJSIP's media ioqueue has 64 slots (PJ_IOQUEUE_MAX_HANDLES), and a
#: 65th socket aborts the process; a few are kept spare
HARD_LIMIT = 60
#: the loop's wait (ZeroMQ poll) while PJSIP is gated
GATED_WAIT_MS = 5


def _quiet(call: AgentCall, ci: Any) -> None:
    """The observer of a parked call: nothing is reported about it until it is served (then the
    state it reached meanwhile, INCOMING, is reported once: see :func:`replay`). A parked call
    that ends (the caller cancelled) leaves the parking at once: no reference to it may outlive
    its DISCONNECTED callback (pjsua reuses the slot; after libDestroy, it aborts)."""
    adm = call.state.admission
    if ci is not None and ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
        adm.drop(call.gid)
    else:
        adm.held.add(call.gid)


def replay(call: AgentCall) -> None:
    """Report the state a parked call reached while it was parked; call it once the call has
    been announced (acc.incoming_call comes first)."""
    held = call.state.admission.held
    if call.gid in held:
        held.discard(call.gid)
        call.onCallState(None)


@dataclass
class Parked:
    since: float
    call: AgentCall
    proceed: Callable[[], None]
    observer: Observer | None


@dataclass
class Admission:
    parked: collections.deque[Parked] = field(default_factory=collections.deque)
    #: parked calls whose state changes were held back
    held: set[str] = field(default_factory=set)
    #: counters, printed when the agent exits
    parked_total: int = 0
    refused_503: int = 0
    gated_turns: int = 0
    #: most sockets counted at once (in use + lingering)
    peak: int = 0
    brakes: int = 0
    braked_s: float = 0.0

    def drop(self, gid: str) -> None:
        """Forget a parked call (it ended)."""
        self.parked = collections.deque(p for p in self.parked if p.call.gid != gid)
        self.held.discard(gid)

    def clear(self) -> None:
        """Forget every parked call (the Endpoint is being destroyed)."""
        self.parked.clear()
        self.held.clear()

    def summary(self) -> str:
        return (f"socket peak {self.peak}, calls parked {self.parked_total}, refused 503 "
                f"{self.refused_503}, PJSIP turns gated {self.gated_turns}, brakes {self.brakes} "
                f"({self.braked_s:.2f}s)")


def _note_peak(state: AgentState) -> None:
    used = state.budget.total - state.budget.free()
    if used > state.admission.peak:
        state.admission.peak = used


def pjsip_may_run(state: AgentState) -> bool:
    """Whether PJSIP may read the network now: every free call slot filling, and one more call
    (a slot freed within the turn), would still fit under HARD_LIMIT."""
    _note_peak(state)
    b = state.budget
    free_slots = max(0, state.capacity - len(state.calls))
    if b.used() + b.per_call * (free_slots + 1) <= HARD_LIMIT - b.per_call:
        return True
    state.admission.gated_turns += 1
    return False


def brake(state: AgentState, sleep: Callable[[float], None] = time.sleep) -> None:
    """The last line of defence, at the top of ``onIncomingCall``: PJSIP has just opened this
    call's sockets (not counted yet) and, within the same turn, may open the next call's (a
    CANCEL can free a slot at once: an INVITE+CANCEL storm cascades through one batch of 50
    packets). Block the loop until both would fit under HARD_LIMIT. Rare (the gate and the
    parking keep the count lower) and short: closed sockets' slots are released within
    ``budget.linger_s``."""
    b = state.budget
    wait = b.wait_s(HARD_LIMIT - 2 * b.per_call)
    if wait:
        state.admission.brakes += 1
        state.admission.braked_s += wait
        sleep(wait)


def admit(state: AgentState, call: AgentCall, proceed: Callable[[], None]) -> None:
    """A call just arrived (its sockets are counted): ``proceed`` now, or park it."""
    _note_peak(state)
    adm = state.admission
    if state.budget.free() >= 0 and not adm.parked:
        proceed()
        return
    adm.parked.append(Parked(time.monotonic(), call, proceed, call.observer))
    adm.parked_total += 1
    call.observer = _quiet


def release(state: AgentState) -> None:
    """Serve the parked calls the budget allows now (oldest first); refuse the overdue ones."""
    adm = state.admission
    now = time.monotonic()
    while adm.parked:
        p = adm.parked[0]
        if p.call.ended:  # the caller gave up (CANCEL) meanwhile
            adm.parked.popleft()
            adm.held.discard(p.call.gid)
            continue
        overdue = now - p.since > PARK_MAX_S
        if not overdue and state.budget.free() < 0:
            break
        adm.parked.popleft()
        if overdue:
            adm.held.discard(p.call.gid)
            adm.refused_503 += 1
            refuse(p.call, 503)
        else:
            p.call.observer = p.observer
            try:
                p.proceed()
            except pj.Error:
                pass  # the call ended meanwhile (CANCEL): its DISCONNECTED callback drops it
            except Exception as exc:  # as in a pjsua2 callback: report, never stop the loop
                state.emit("agent.error", state.name, {
                    "where": "admission.release", "msg": f"{type(exc).__name__}: {exc}"})


def refuse(call: AgentCall, code: int) -> None:
    op = pj.CallOpParam()
    op.statusCode = code
    try:
        call.hangup(op)
    except pj.Error:
        pass  # the call ended meanwhile
