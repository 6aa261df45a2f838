"""The PUB firehose with subscribers that never read: the coordinator's memory stays bounded (a
queue of ``--events-queue`` messages per subscriber, at most ``--max-subscribers`` of them) and
comes back once they leave; a subscriber that reads gets every event meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import zmq

from coordinator.client import Error
from tests.faults.conftest import FaultFleet, start_fleet
from tests.helpers import Recorder, wait_for
from tests.ua_helpers import ImAccount

#: the bound this test states: what 10 non-reading subscribers may add to the coordinator's
#: resident memory (each holds at most 1,000 events of ~3 KB here: ~30 MB in all)
GROWTH_BOUND_MB = 80
#: and what may stay once they closed
RESIDUAL_MB = 32


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def _sub(ctx: zmq.Context[zmq.Socket[bytes]], url: str, reading: bool) -> zmq.Socket[bytes]:
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    if not reading:  # take next to nothing off the wire: the coordinator's queue fills
        sock.setsockopt(zmq.RCVHWM, 1)
        sock.setsockopt(zmq.RCVBUF, 4096)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(url)
    return sock


@pytest.fixture
def fleet2() -> Iterator[FaultFleet]:
    yield from start_fleet(2)


def test_ten_subscribers_that_never_read_cost_a_bounded_queue(fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    assert lib.fleet is not None and lib.fleet.coordinator is not None
    co_pid = lib.fleet.coordinator.pid
    a_cb, b_cb = ImAccount(), ImAccount()
    alice = lib.create_account("sip:alice@127.0.0.1", cb=a_cb)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=b_cb)
    body = "x" * 2800  # each message makes two events of about 3 KB (pager, pager_status)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    subs = [_sub(ctx, lib.fleet.events_url, reading=False) for _ in range(10)]
    reader = _sub(ctx, lib.fleet.events_url, reading=True)
    wait_for(lambda: lib.status()["firehose"]["subscribers"] == 11, 10, "11 subscribers")
    start = rss_mb(co_pid)
    stop, sent, read, peak = threading.Event(), [0], [0], [start]

    def flood() -> None:
        while not stop.is_set():
            try:
                alice.send_pager(bob.contact, body, im_id=1)
                sent[0] += 1
            except Error:
                time.sleep(0.01)

    def drain() -> None:
        while not stop.is_set():
            if reader.poll(100):
                reader.recv_multipart()
                read[0] += 1

    threads = [threading.Thread(target=flood), threading.Thread(target=drain)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            peak[0] = max(peak[0], rss_mb(co_pid))
            time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    events = 2 * sent[0]
    print(f"coordinator RSS {start:.0f} MB -> peak {peak[0]:.0f} MB over 60 s; {sent[0]} messages "
          f"sent ({events} events of ~3 KB), the reading subscriber got {read[0]}")
    assert sent[0] > 3000, "events flowed"  # ~20 MB of events per subscriber
    assert peak[0] - start <= GROWTH_BOUND_MB
    assert read[0] >= 0.9 * events  # a subscriber that reads still gets (nearly) every event
    for sock in subs:
        sock.close(0)
    wait_for(lambda: lib.status()["firehose"]["subscribers"] == 1, 10, "the 10 to be gone")
    wait_for(lambda: rss_mb(co_pid) <= start + RESIDUAL_MB, 15,
             f"the coordinator's memory back near {start:.0f} MB (now {rss_mb(co_pid):.0f})")
    reader.close(0)
    ctx.term()
    assert len(b_cb.pagers) == sent[0]  # and the owner got every message


@pytest.fixture
def capped() -> Iterator[FaultFleet]:
    yield from start_fleet(1, coordinator_args=["--max-subscribers", "4"])


def test_subscribers_beyond_the_cap_are_refused_and_counted(capped: FaultFleet) -> None:
    lib = capped.lib
    assert lib.fleet is not None
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    first = [_sub(ctx, lib.fleet.events_url, reading=True) for _ in range(4)]
    wait_for(lambda: lib.status()["firehose"]["subscribers"] == 4, 10, "4 subscribers")
    extra = [_sub(ctx, lib.fleet.events_url, reading=True) for _ in range(2)]
    wait_for(lambda: lib.status()["firehose"]["refused"] >= 2, 10, "the 2 extra refused")
    status = lib.status()["firehose"]
    assert (status["subscribers"], status["max_subscribers"]) == (4, 4)
    # the admitted ones get a call's events, the refused ones nothing
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "the call")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "its end")
    for sock in first:
        assert sock.poll(2000) and b"call.state" in sock.recv_multipart()[0]
    for sock in extra:
        assert not sock.poll(200)
    # one leaves: a newcomer takes its place. Once the coordinator has seen it leave: a newcomer
    # that comes before is refused (the 4 places are taken), and libzmq does not retry a refusal
    first.pop().close(0)
    wait_for(lambda: lib.status()["firehose"]["subscribers"] == 3, 10, "the one gone")
    late = _sub(ctx, lib.fleet.events_url, reading=True)
    wait_for(lambda: lib.status()["firehose"]["subscribers"] == 4, 10, "the newcomer in")
    for sock in (*first, *extra, late):
        sock.close(0)
    ctx.term()
