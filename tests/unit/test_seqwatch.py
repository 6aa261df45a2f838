"""Gap detection on the client: SeqWatch (pure), and Lib reporting gaps through on_gap."""

from __future__ import annotations

import proto
from coordinator.client import Lib
from coordinator.client.seqwatch import SeqWatch
from tests.helpers import wait_for


def test_consecutive_numbers_miss_nothing() -> None:
    w = SeqWatch()
    assert [w.observe("c1", n) for n in (1, 2, 3)] == [0, 0, 0]
    assert w.missed == 0


def test_a_jump_is_counted_per_object() -> None:
    w = SeqWatch()
    w.observe("c1", 1)
    w.observe("c2", 4)  # first sighting: a baseline, whatever its number
    assert w.observe("c1", 5) == 3
    assert w.observe("c2", 6) == 1
    assert w.missed == 4


def test_unnumbered_restarted_and_forgotten_objects_are_no_gap() -> None:
    w = SeqWatch()
    assert w.observe("a", 0) == 0 and "a" not in w.last
    w.observe("agent-1", 7)
    assert w.observe("agent-1", 1) == 0  # a restarted agent numbers again from 1
    assert w.observe("agent-1", 2) == 0
    w.forget("agent-1")
    assert w.observe("agent-1", 9) == 0
    assert w.missed == 0


def test_memory_is_bounded_oldest_forgotten_first() -> None:
    w = SeqWatch(limit=3)
    for i in range(5):
        w.observe(f"c{i}", 1)
    assert list(w.last) == ["c2", "c3", "c4"]


class GapLib(Lib):
    def __init__(self, url: str) -> None:
        self.gaps: list[tuple[str, int]] = []
        super().__init__(url)

    def on_gap(self, obj: str, missed: int) -> None:
        self.gaps.append((obj, missed))


def test_lib_reports_seq_jumps_and_coordinator_notices() -> None:
    lib = GapLib("tcp://127.0.0.1:9")  # nothing listens: only its callback thread is used
    try:
        for ev in (proto.evt("call.state", "c1", 1, {}), proto.evt("call.state", "c1", 4, {}),
                   proto.evt("acc.reg_state", "c1", 1, {}),  # an account may share a call's id
                   proto.evt("events.gap", "", 1, {"dropped": 5, "replies": 1, "total": 5})):
            lib.session.events.put(ev)
        wait_for(lambda: len(lib.gaps) == 2, 5, "two gaps reported")
        assert lib.gaps == [("c1", 2), ("", 5)]
        assert lib.missed_events == 2 and lib.dropped_reported == 5
    finally:
        lib.destroy()
