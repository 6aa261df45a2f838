"""agent.admission with fake calls and a fake clock: the gate, parking and the brake keep the
sockets PJSIP may open under the hard limit (no pjsua2 call is made here)."""

from __future__ import annotations

from typing import Any

import pytest

from agent import admission
from agent.budget import SocketBudget
from agent.state import AgentState


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeCall:
    """What admission uses of an AgentCall: its id, state, observer and ended flag."""

    def __init__(self, state: AgentState, gid: str) -> None:
        self.state, self.gid = state, gid
        self.observer: Any = None
        self.ended = False
        self.replayed = 0

    def onCallState(self, prm: Any) -> None:
        self.replayed += 1


def _state(total: int = 48) -> tuple[AgentState, FakeClock]:
    clock = FakeClock()
    return AgentState(name="a", capacity=4, budget=SocketBudget(total, 2, 0.6, clock=clock)), clock


def _arrive(state: AgentState, gid: str) -> FakeCall:
    """PJSIP opened a call's sockets and the agent counted them (AgentCall's constructor)."""
    call = FakeCall(state, gid)
    state.budget.take()
    state.calls[gid] = call  # type: ignore[assignment]
    return call


def test_the_gate_closes_before_free_slots_could_overflow_the_hard_limit() -> None:
    state, _ = _state()
    assert admission.pjsip_may_run(state)  # 4 free slots, nothing used
    for _ in range(24):  # 48 sockets closed just now: lingering
        state.budget.take()
        state.budget.release()
    assert admission.pjsip_may_run(state)  # 48 + 2 x (4 free slots + 1) = HARD_LIMIT - 2
    state.budget.take()
    state.budget.release()
    assert not admission.pjsip_may_run(state) and state.admission.gated_turns == 1
    assert state.admission.peak == 50


def test_a_call_arriving_over_the_budget_is_parked_then_served_in_order() -> None:
    state, clock = _state(total=4)
    served: list[str] = []
    first = _arrive(state, "c1")
    admission.admit(state, first, lambda: served.append("c1"))  # type: ignore[arg-type]
    state.budget.take()  # an outgoing call too: 4 of 4 now
    second = _arrive(state, "c2")  # 6 of 4: over
    admission.admit(state, second, lambda: served.append("c2"))  # type: ignore[arg-type]
    assert served == ["c1"] and second.observer is admission._quiet
    admission._quiet(second, None)  # type: ignore[arg-type]  # PJSIP reported INCOMING meanwhile
    admission.release(state)
    assert served == ["c1"]  # still over
    state.budget.release()  # the outgoing call ends; its sockets linger 0.6 s
    clock.now += 0.61
    admission.release(state)
    assert served == ["c1", "c2"] and second.observer is None
    admission.replay(second)  # type: ignore[arg-type]
    admission.replay(second)  # type: ignore[arg-type]
    assert second.replayed == 1 and not state.admission.held


def test_a_parked_call_the_caller_cancelled_is_dropped() -> None:
    state, _ = _state(total=2)
    state.budget.take()  # an outgoing call holds the whole budget
    call = _arrive(state, "c1")
    admission.admit(state, call, lambda: pytest.fail("served"))  # type: ignore[arg-type]
    call.ended = True
    admission.release(state)
    assert not state.admission.parked


def test_the_brake_waits_until_this_call_and_the_next_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    state, clock = _state()
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock.now += s

    admission.brake(state, sleep)
    assert slept == []
    for _ in range(29):  # 58 sockets lingering, released 10 ms apart
        state.budget.take()
        state.budget.release()
        clock.now += 0.01
    admission.brake(state, sleep)  # 56 + this call's 2 + the next 2 > 60: wait for one release
    assert len(slept) == 1 and state.budget.used() <= admission.HARD_LIMIT - 4
    assert state.admission.brakes == 1


def test_a_parked_call_that_ends_leaves_the_parking_in_its_callback() -> None:
    """No reference to a Call may outlive its DISCONNECTED callback."""
    import pjsua2 as pj

    class CI:
        state = pj.PJSIP_INV_STATE_DISCONNECTED

    state, _ = _state(total=2)
    state.budget.take()
    call = _arrive(state, "c1")
    admission.admit(state, call, lambda: pytest.fail("served"))  # type: ignore[arg-type]
    admission._quiet(call, None)  # type: ignore[arg-type]
    assert state.admission.parked and state.admission.held == {"c1"}
    admission._quiet(call, CI())  # type: ignore[arg-type]
    assert not state.admission.parked and not state.admission.held
