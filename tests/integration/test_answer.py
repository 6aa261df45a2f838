"""`callfleet answer`: a UAS service on the whole fleet behind the SIP front, its live lines and
final table checked against SIPp's own counts."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.client import Lib
from tests.front import Front, sipp_stats, sipp_uac
from tests.helpers import Recorder, start_sipp, stop, wait_for
from tests.integration.conftest import start_fleet


class Answer:
    """`callfleet answer URI ...` as a child process, its output kept."""

    def __init__(self, lib: Lib, workdir: Path, *options: str) -> None:
        self.out = workdir / "answer.out"
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coordinator.cli", "answer", "sip:bob@127.0.0.1",
                 "--coordinator", lib.url, *options],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: "Ctrl-C stops" in self.output() or self.proc.poll() is not None,
                 20, "callfleet answer to start")
        assert self.proc.poll() is None, self.output()

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def interrupt(self) -> dict[str, dict[str, int]]:
        """Ctrl-C; its final table, by row (agent or total) and column."""
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(30) == 0, self.output()
        lines = self.output().splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.startswith("AGENT"))
        cols = [c.lower() for c in lines[head].split()[1:]]
        return {row.split()[0]: dict(zip(cols, map(int, row.split()[1:]), strict=True))
                for row in lines[head + 1:] if re.match(r"\S+(\s+\d+){5}$", row)}

    def stop(self) -> None:
        stop(self.proc, 20)


@pytest.fixture
def lib2() -> Iterator[Lib]:
    yield from start_fleet(2)


def test_answer_behind_the_front_takes_400_calls_on_12_agents(lib12: Lib, tmp_path: Path) -> None:
    """sipp -r 20 -l 40 -m 400 -d 1000 at the front: 0 failed calls (48 slots for 40 calls),
    and the service's table says what SIPp says."""
    answer = Answer(lib12, tmp_path)
    front = Front(lib12.url, tmp_path).start(agents=12)
    try:
        uac = start_sipp(sipp_uac(front, "-r", "20", "-l", "40", "-m", "400", "-d", "1000"),
                         tmp_path)
        rc = uac.wait(150)
        stats = sipp_stats(tmp_path)
        assert rc == 0 and (stats["successful"], stats["failed"]) == (400, 0), stats
        wait_for(lambda: " answered    400 " in answer.output(), 15, "the service to count 400")
        rows = answer.interrupt()
        assert rows["total"] == {"calls": 400, "answered": 400, "rejected": 0, "cancelled": 0,
                                 "lost": 0}
        agents = {a["name"] for a in lib12.agents()}
        assert set(rows) - {"total"} == agents
        assert all(rows[a]["answered"] > 0 for a in agents)
        assert sum(rows[a]["calls"] for a in agents) == 400
        # one line a second while it ran
        assert len(re.findall(r"^\s+\d+ s  up", answer.output(), re.M)) >= 20
        assert lib12.status()["accounts"] == 0  # the account went from every agent
    finally:
        answer.stop()
        front.stop()


def test_answer_rings_then_answers_or_rejects_with_the_code_mix(lib2: Lib, tmp_path: Path) -> None:
    answer = Answer(lib2, tmp_path, "--ring", "0.3", "--code", "200:50,486:50", "--hold", "0.5")
    front = Front(lib2.url, tmp_path).start(agents=2)
    try:
        uac = start_sipp(sipp_uac(front, "-r", "5", "-m", "40", "-d", "2000"), tmp_path)
        uac.wait(90)
        stats = sipp_stats(tmp_path)
        rows = answer.interrupt()
        total = rows["total"]
        # answered calls were hung up by the service after 0.5 s, before SIPp's 2 s pause
        # ended: SIPp counts those as failed too (a BYE where it waited to send one)
        # (a call that found both agents full, 8 calls up, was refused by the front: CF-FULL)
        full = front.count("CF-FULL")
        assert total["calls"] + full == 40 and total["cancelled"] == total["lost"] == 0, rows
        assert total["answered"] + total["rejected"] == total["calls"]
        assert 5 <= total["rejected"] <= 35
        assert stats["unexpected"].get(486, 0) == total["rejected"] + full, stats
        assert stats["successful"] + stats["failed"] == 40
    finally:
        answer.stop()
        front.stop()


def test_an_account_on_every_agent_rings_before_its_agents_answer(lib2: Lib) -> None:
    """ring=1 with auto_answer: each agent holding the account sends 180, then answers by
    itself a second later (no round trip to the owner); set_policy(ring=0) answers at once."""
    bob = lib2.create_account("sip:bob@127.0.0.1", auto_answer=200, replicas="all", ring=1.0)
    alice = lib2.create_account("sip:alice@127.0.0.1")
    for agent in bob.replicas:
        contact = next(f"sip:bob@{a['sip'][0].split(':', 1)[1]}" for a in lib2.agents()
                       if a["name"] == agent)
        rec = Recorder()
        call = alice.make_call(contact, cb=rec)
        wait_for(lambda rec=rec: rec.reached("EARLY"), 10, "the call to ring")
        rang = time.monotonic()
        wait_for(lambda rec=rec: rec.reached("CONFIRMED"), 10, "the answer after the ring")
        assert time.monotonic() - rang >= 0.8, "answered before the ring time was over"
        assert call.info().last_code == 200
        call.hangup()
        wait_for(lambda rec=rec: rec.last() == "DISCONNECTED", 10, "the call to end")
    bob.set_policy(ring=0)
    rec = Recorder()
    alice.make_call(bob.contact, cb=rec)
    wait_for(lambda: rec.reached("CONFIRMED"), 10, "the answer")
    assert "EARLY" not in rec.names()
