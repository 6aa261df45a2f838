"""`callfleet answer`'s pure parts: its options (a mistake is one line, exit 2), when the agents
answer by themselves, the timed actions' order, and the line and table it prints."""

from __future__ import annotations

import threading
import time

import pytest

from coordinator.cli.answer import line, table
from coordinator.cli.answering import Behaviour, Tally, Timers
from coordinator.cli.main import build_parser
from proto.dist import parse_codes, parse_dist


def test_defaults() -> None:
    a = build_parser().parse_args(["answer", "sip:bob@127.0.0.1"])
    assert (a.code, a.ring, a.hold, a.media, a.duration) == ("200", 0.0, "", "silence", 0.0)


@pytest.mark.parametrize(("argv", "said"), [
    (["answer", "bob"], "is not a sip: or sips: URI"),
    (["answer", "sip:bob@h", "--code", "99"], "codes 200..699"),
    (["answer", "sip:bob@h", "--code", "200:x"], "bad answer-code mix"),
    (["answer", "sip:bob@h", "--hold", "exp:"], "hold"),
    (["answer", "sip:bob@h", "--ring", "-1"], "ring"),
    (["answer", "sip:bob@h", "--media", "music"], "invalid choice"),
    (["answer", "sip:bob@h", "--rign", "1"], "unrecognized arguments: --rign")])
def test_mistakes_are_one_line(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err, err


@pytest.mark.parametrize(("codes", "ring", "auto"), [
    ("200", 0.0, 200), ("200", 1.0, 200), ("486", 0.0, None), ("200:90,486:10", 0.0, None)])
def test_agents_answer_by_themselves_for_one_code_below_300(codes: str, ring: float,
                                                               auto: int | None) -> None:
    assert Behaviour(parse_codes(codes), ring, None, "silence").auto_answer == auto


def test_timed_actions_run_in_due_order_on_their_thread() -> None:
    timers = Timers()
    done: list[tuple[str, str]] = []
    finished = threading.Event()
    now = time.monotonic()
    try:
        timers.at(now + 0.2, lambda: (done.append(("late", threading.current_thread().name)),
                                      finished.set()))
        timers.at(now + 0.05, lambda: done.append(("early", threading.current_thread().name)))
        timers.at(now, lambda: done.append(("now", threading.current_thread().name)))
        assert finished.wait(5)
    finally:
        timers.stop()
    assert [d[0] for d in done] == ["now", "early", "late"]
    assert {d[1] for d in done} == {"answer-timers"}


def _tally() -> Tally:
    t = Tally()
    t.calls.update({"agent-01": 5, "agent-02": 3})
    t.outcomes["answered"].update({"agent-01": 4, "agent-02": 2})
    t.outcomes["rejected"].update({"agent-02": 1})
    t.outcomes["cancelled"].update({"agent-01": 1})
    t.up, t.ringing = 2, 0
    return t


def test_the_table_adds_up_by_agent() -> None:
    rows = table(_tally()).splitlines()
    assert rows[0].split() == ["AGENT", "CALLS", "ANSWERED", "REJECTED", "CANCELLED", "LOST"]
    assert rows[1].split() == ["agent-01", "5", "4", "0", "1", "0"]
    assert rows[2].split() == ["agent-02", "3", "2", "1", "0", "0"]
    assert rows[3].split() == ["total", "8", "6", "1", "1", "0"]
    assert len({len(r) for r in rows}) == 1  # aligned columns


def test_the_line_a_second() -> None:
    assert line(12, _tally(), 2).split() == ["12", "s", "up", "2", "ringing", "0", "answered",
                                             "6", "(+4)", "rejected", "1", "cancelled", "1",
                                             "lost", "0"]


def test_hold_distributions_parse() -> None:
    assert parse_dist("uniform:1:2").kind == "uniform"
