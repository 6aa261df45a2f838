"""coordinator.server.fairness: per-connection budgets of forwarded and waiting requests (pure)."""

from __future__ import annotations

import proto
from coordinator.server.fairness import Budgets


def req(n: int) -> proto.Message:
    return proto.req("call.info", {"call": "c1"}, f"r{n}")


def test_requests_run_until_the_connection_has_its_fill_in_flight() -> None:
    b = Budgets(in_flight=2, queued=3)
    assert b.admit(b"A", req(1)) == "run"
    b.forwarded(b"A")
    assert b.admit(b"A", req(2)) == "run"
    b.forwarded(b"A")
    assert [b.admit(b"A", req(n)) for n in (3, 4, 5, 6)] == ["held", "held", "held", "busy"]
    assert b.refused == 1 and b.held() == 3
    # another connection is not held back by A
    assert b.admit(b"B", req(1)) == "run"


def test_waiting_requests_run_in_order_as_replies_come_back() -> None:
    b = Budgets(in_flight=1, queued=10)
    assert b.admit(b"A", req(1)) == "run"
    b.forwarded(b"A")
    for n in (2, 3):
        assert b.admit(b"A", req(n)) == "held"
    assert b.next_ready() is None  # nothing answered yet
    b.answered(b"A")
    conn, msg = b.next_ready() or (b"", req(0))
    assert (conn, msg.id) == (b"A", "r2")
    b.forwarded(b"A")  # r2 went to an agent too: r3 waits for its reply
    assert b.next_ready() is None
    b.answered(b"A")
    assert [m.id for _, m in iter(b.next_ready, None)] == ["r3"]
    assert b.held() == 0 and not b.waiting and not b.ready


def test_a_request_answered_by_the_coordinator_alone_lets_the_next_run() -> None:
    b = Budgets(in_flight=1, queued=10)
    b.admit(b"A", req(1))
    b.forwarded(b"A")
    b.admit(b"A", req(2))
    b.admit(b"A", req(3))
    b.answered(b"A")
    # r2 and r3 need no agent: both run, in order, without any further reply
    assert [m.id for _, m in iter(b.next_ready, None)] == ["r2", "r3"]


def test_new_requests_queue_behind_waiting_ones_to_keep_their_order() -> None:
    b = Budgets(in_flight=1, queued=10)
    b.admit(b"A", req(1))
    b.forwarded(b"A")
    b.admit(b"A", req(2))
    b.answered(b"A")  # room in flight, but r2 still waits: r3 must not overtake it
    assert b.admit(b"A", req(3)) == "held"
    assert [m.id for _, m in iter(b.next_ready, None)] == ["r2", "r3"]


def test_internal_work_and_stray_answers_count_for_nobody() -> None:
    b = Budgets(in_flight=1)
    b.forwarded(None)
    b.answered(None)
    b.answered(b"X")  # never forwarded: ignored
    assert not b.flying and b.admit(b"X", req(1)) == "run"
