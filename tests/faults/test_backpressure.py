"""A client that stops reading: the coordinator queues a bounded number of messages for it,
drops the rest and counts them, later tells it how many it lost (``events.gap``), and the client
sees the holes in the events' ``seq`` numbering. The owner of the calls loses nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
import zmq

from coordinator.client import Error
from coordinator.client.seqwatch import SeqWatch
from tests.faults.conftest import FaultFleet, start_fleet
from tests.helpers import Recorder, wait_for

#: the coordinator's per-connection queue in this test, and its kernel send buffer per connection
QUEUE = 50
SNDBUF = 4096
#: what libzmq's batching and the two kernel buffers (4 KiB each way) hold beyond the queue,
#: counted in messages of a few hundred bytes
IN_FLIGHT = 150
CALLS = 25
#: growth of the coordinator's resident memory the test tolerates while the client is stalled
RSS_SLACK_KB = 20_000


@pytest.fixture
def tight_fleet() -> Iterator[FaultFleet]:
    yield from start_fleet(2, coordinator_args=["--client-queue", str(QUEUE),
                                           "--client-sndbuf", str(SNDBUF)])


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class Stalled:
    """A raw client connection subscribed to every event that then stops reading: a receive
    queue of one message and a small kernel buffer, so the coordinator's queue fills fast."""

    def __init__(self, url: str) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RCVHWM, 1)
        self.sock.setsockopt(zmq.RCVBUF, SNDBUF)
        self.sock.connect(url)
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": "sub", "op": "events.subscribe",
                                      "args": {"snapshot": False}}))
        assert self.sock.poll(10_000), "no reply to events.subscribe"
        rep = msgpack.unpackb(self.sock.recv(), raw=False)
        assert rep["id"] == "sub" and rep["ok"], rep

    def read(self, until: str, timeout_ms: int = 10_000) -> list[dict[str, Any]]:
        """Everything queued for it, up to and including the first event ``until``."""
        out: list[dict[str, Any]] = []
        while self.sock.poll(timeout_ms):
            msg: dict[str, Any] = msgpack.unpackb(self.sock.recv(), raw=False)
            out.append(msg)
            if msg["kind"] == "evt" and msg["op"] == until:
                return out
        raise AssertionError(f"no {until} in {len(out)} messages: {out[-3:]}")

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def _call(caller: Any, callee: Any) -> None:
    """One call, CONFIRMED then hung up. Back to back, an agent may still be releasing the
    previous call's slot or sockets (E_NO_CAPACITY): retry, as a client would."""
    rec = Recorder()
    deadline = time.monotonic() + 15
    while True:
        try:
            call = caller.make_call(callee.contact, cb=rec)
            break
        except Error as exc:
            if exc.err_code != "E_NO_CAPACITY" or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    wait_for(lambda: rec.reached("CONFIRMED"), 15, "the call CONFIRMED")
    call.hangup()
    wait_for(lambda: rec.last() == "DISCONNECTED", 15, "the call to end")


def test_a_stalled_client_costs_a_bounded_queue_and_is_told_its_gap(tight_fleet: FaultFleet) -> None:
    lib = tight_fleet.lib
    assert lib.fleet is not None and lib.fleet.coordinator is not None
    co_pid = lib.fleet.coordinator.pid
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    assert alice.agent != bob.agent
    assert lib.status()["client_queue"] == QUEUE
    rss_before = rss_kb(co_pid)
    stalled = Stalled(lib.url)
    try:
        for _ in range(CALLS):  # ~11 events a call, both legs: about twice what fits
            _call(alice, bob)
        status = lib.status()
        grown = rss_kb(co_pid) - rss_before
        print(f"{CALLS} calls with a stalled subscriber: coordinator dropped {status['dropped']} "
              f"messages, RSS grew {grown} KiB")
        assert status["dropped"] > 0 and status["gaps_owed"] == 1, status
        assert grown < RSS_SLACK_KB
        # the owner of the calls lost nothing and was told of no gap
        assert lib.missed_events == 0 and lib.dropped_reported == 0

        # the stalled client reads again: what was queued, then the gap notice
        got = stalled.read(until="events.gap")
        gap = got[-1]
        delivered = [m for m in got[:-1] if m["kind"] == "evt"]
        print(f"stalled client: {len(delivered)} events delivered, gap notice {gap['data']}")
        assert len(delivered) <= QUEUE + IN_FLIGHT
        assert gap["obj"] == "" and gap["seq"] == 1
        # late events of the last call (its legs' DISCONNECTED) may be dropped after the status
        assert gap["data"]["dropped"] == gap["data"]["total"] >= status["dropped"]
        assert gap["data"]["replies"] == 0
        seqs = SeqWatch()
        for m in delivered:
            seqs.observe(f"{m['op'].split('.')[0]}/{m['obj']}", m["seq"])
        wait_for(lambda: lib.status()["gaps_owed"] == 0, 5, "the notice to be settled")

        # reading again, it gets a new call's events whole: numbered from 1, no hole
        _call(alice, bob)
        after = [m for m in stalled.read(until="call.state", timeout_ms=5_000)]
        wait_for(lambda: lib.status()["calls"] == 0, 10, "the call gone")
        while stalled.sock.poll(500):
            after.append(msgpack.unpackb(stalled.sock.recv(), raw=False))
        # the new call's legs (numbered from 1; a late event of an earlier call may come too)
        calls = {m["obj"] for m in after if m["op"].startswith("call.") and m["seq"] == 1}
        assert len(calls) == 2, after  # the caller's leg and the callee's
        for obj in calls:
            nums = [m["seq"] for m in after if m["obj"] == obj]
            assert nums == list(range(1, len(nums) + 1)), (obj, nums)
        assert not [m for m in after if m["op"] == "events.gap"]
        # the hole shows in the numbering too: bob's account events (one acc.incoming_call a
        # call) jump over those of the calls whose events were dropped
        for m in after:
            seqs.observe(f"{m['op'].split('.')[0]}/{m['obj']}", m["seq"])
        (incoming,) = [m for m in after if m["op"] == "acc.incoming_call"]
        assert incoming["obj"] == bob.id and incoming["seq"] == CALLS + 1
        assert seqs.missed > 0
        # nothing was dropped since the notice: the client reads again
        assert lib.status()["dropped"] == gap["data"]["total"]
    finally:
        stalled.close()
