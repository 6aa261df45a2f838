"""agent.budget.SocketBudget with a fake clock: taking, releasing, lingering slots, refusals."""

from __future__ import annotations

import pytest

from agent.budget import SocketBudget


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def budget(total: int = 10, per_call: int = 2, linger_s: float = 0.5) -> tuple[SocketBudget, FakeClock]:
    clock = FakeClock()
    return SocketBudget(total, per_call, linger_s, clock=clock), clock


def test_a_fresh_budget_is_all_free() -> None:
    b, _ = budget()
    assert (b.free(), b.in_use, b.lingering, b.can_take()) == (10, 0, 0, True)


def test_defaults_match_pjsip_select_ioqueue() -> None:
    b = SocketBudget()
    assert (b.total, b.per_call, b.linger_s) == (48, 2, 0.6)
    assert b.free() == 48


def test_take_counts_one_calls_sockets() -> None:
    b, _ = budget()
    b.take()
    assert (b.in_use, b.free()) == (2, 8)
    b.take()
    assert (b.in_use, b.free()) == (4, 6)


def test_can_take_until_the_budget_is_spent() -> None:
    b, _ = budget(total=7, per_call=2)
    taken = 0
    while b.can_take():
        b.take()
        taken += 1
    assert taken == 3
    assert (b.free(), b.can_take()) == (1, False)


def test_take_is_not_refused_when_over_budget() -> None:
    # incoming calls have their sockets already: they are counted even past the budget
    b, _ = budget(total=4)
    for _ in range(3):
        b.take()
    assert (b.in_use, b.free(), b.can_take()) == (6, -2, False)


# times below are sums of powers of two, so the fake clock's arithmetic is exact

def test_released_sockets_linger_then_free() -> None:
    b, clock = budget(total=4, linger_s=0.5)
    b.take()
    b.take()
    b.release()
    assert (b.in_use, b.lingering, b.free(), b.can_take()) == (2, 2, 0, False)
    clock.advance(0.375)
    assert (b.lingering, b.can_take()) == (2, False)
    clock.advance(0.125)  # exactly linger_s later: the slot is free again
    assert (b.lingering, b.free(), b.can_take()) == (0, 2, True)


def test_lingering_releases_expire_one_by_one() -> None:
    b, clock = budget(total=10, linger_s=1.0)
    t0 = clock.now
    for _ in range(3):
        b.take()
    b.release()               # lingers until t0+1.0
    clock.now = t0 + 0.25
    b.release()               # until t0+1.25
    clock.now = t0 + 0.5
    b.release()               # until t0+1.5
    assert (b.in_use, b.lingering, b.free()) == (0, 6, 4)
    clock.now = t0 + 1.0
    assert (b.lingering, b.free()) == (4, 6)
    clock.now = t0 + 1.25
    assert (b.lingering, b.free()) == (2, 8)
    clock.now = t0 + 1.4375
    assert b.lingering == 2
    clock.now = t0 + 1.5
    assert (b.lingering, b.free()) == (0, 10)


def test_zero_linger_frees_at_once() -> None:
    b, _ = budget(linger_s=0.0)
    b.take()
    b.release()
    assert (b.in_use, b.lingering, b.free()) == (0, 0, 10)


def test_lingering_does_not_count_as_in_use() -> None:
    b, _ = budget()
    b.take()
    b.take()
    b.release()
    assert (b.in_use, b.lingering) == (2, 2)


def test_release_without_take_is_an_error() -> None:
    b, _ = budget()
    with pytest.raises(RuntimeError):
        b.release()
    b.take()
    b.release()
    with pytest.raises(RuntimeError):
        b.release()
    assert (b.in_use, b.lingering) == (0, 2)  # the failed release changed nothing


def test_per_call_of_one() -> None:
    b, _ = budget(total=2, per_call=1)
    b.take()
    assert (b.free(), b.can_take()) == (1, True)
    b.take()
    assert b.can_take() is False


def test_can_take_needs_a_whole_call() -> None:
    b, _ = budget(total=5, per_call=3)
    assert b.can_take()
    b.take()
    assert (b.free(), b.can_take()) == (2, False)


def test_time_standing_still_keeps_slots_lingering() -> None:
    b, _ = budget(total=2, linger_s=0.5)
    b.take()
    b.release()
    for _ in range(5):
        assert b.can_take() is False


@pytest.mark.parametrize(("total", "per_call", "linger_s"), [
    (1, 2, 0.5), (0, 1, 0.5), (10, 0, 0.5), (10, -1, 0.5), (10, 2, -0.1),
])
def test_impossible_budgets_are_refused(total: int, per_call: int, linger_s: float) -> None:
    with pytest.raises(ValueError):
        SocketBudget(total, per_call, linger_s)


def test_smallest_budget_is_one_call() -> None:
    b = SocketBudget(2, 2, 0.0)
    assert b.can_take()


def test_wait_s_says_when_enough_lingering_slots_are_released() -> None:
    b, clock = budget(total=20, per_call=2, linger_s=0.5)
    assert b.wait_s(0) == 0.0 and b.used() == 0
    for _ in range(3):
        b.take()
    b.release()
    clock.advance(0.1)
    b.release()  # in use 2, lingering 2 (until +0.5) and 2 (until +0.6)
    assert b.used() == 6
    assert b.wait_s(6) == 0.0
    assert b.wait_s(4) == pytest.approx(0.4)
    assert b.wait_s(2) == pytest.approx(0.5)
    assert b.wait_s(1) is None  # the socket in use alone is over: waiting cannot help
    clock.advance(0.45)
    assert b.wait_s(4) == 0.0 and b.used() == 4


def test_a_call_with_extra_streams_takes_and_frees_their_sockets() -> None:
    b, clock = budget(total=10, per_call=2, linger_s=0.5)
    assert b.can_take(extra=8) and not b.can_take(extra=9)
    b.take()
    b.take_extra(4)  # two more audio streams
    assert (b.in_use, b.free(), b.can_take(extra=2)) == (6, 4, True)
    b.release(extra=4)
    assert (b.in_use, b.lingering, b.free()) == (0, 6, 4)
    clock.advance(0.5)
    assert b.free() == 10
    with pytest.raises(RuntimeError):
        b.release(extra=4)
