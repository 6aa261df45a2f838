"""coordinator.server.delivery on real ZeroMQ sockets (loopback): a connection that does not read
costs a bounded queue, every drop is counted, and the connection is told how many it lost."""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import pytest
import zmq

import proto
from coordinator.server import delivery
from coordinator.server.delivery import Delivery

HWM = 20
FRAME = proto.encode(proto.evt("call.state", "c1", 1, {"pad": "x" * 200}))


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket[bytes], zmq.Socket[bytes]]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    router.setsockopt(zmq.SNDHWM, HWM)
    router.setsockopt(zmq.SNDBUF, 4096)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.ROUTING_ID, b"slow")
    dealer.setsockopt(zmq.RCVHWM, 1)
    dealer.setsockopt(zmq.RCVBUF, 4096)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"hello")  # the ROUTER knows the connection once it has heard from it
    assert router.poll(5000)
    assert router.recv_multipart() == [b"slow", b"hello"]
    try:
        yield router, dealer
    finally:
        router.close(0)
        dealer.close(0)
        ctx.term()


def test_a_connection_that_does_not_read_is_bounded_and_told_its_gap(
        pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]]) -> None:
    router, dealer = pair
    d = Delivery(router, HWM)
    statuses = [d.send(b"slow", FRAME, reply=i % 100 == 99) for i in range(2000)]
    # the I/O thread may have made room just before the last send (a loaded machine): send on
    # until a drop is the last word, so a gap notice is owed for certain
    while statuses[-1] == "ok" and len(statuses) < 4000:
        statuses.append(d.send(b"slow", FRAME, reply=len(statuses) % 100 == 99))
    sent, full = statuses.count("ok"), statuses.count("full")
    print(f"HWM {HWM}: {sent} frames taken, {full} dropped")
    assert sent + full == len(statuses) and full > 0 and statuses[-1] == "full"
    assert sent < 1000  # the queue and the two 4 KiB kernel buffers, not the 2000 frames
    assert d.dropped == full and d.pending() == 1
    owed = d.owed[b"slow"]
    assert owed.total == full
    replies_lost = statuses[99::100].count("full")

    received = []
    while dealer.poll(500):
        received.append(msgpack.unpackb(dealer.recv(), raw=False))
        d.flush(float(len(received)))  # the loop's turns, FLUSH_S apart at least
    events = [m for m in received if m["op"] == "call.state"]
    notices = [m for m in received if m["op"] == "events.gap"]
    assert len(events) == sent and len(events) + len(notices) == len(received)
    # whenever room appeared while sending, a notice went first: each counts the drops before it
    assert received[-1]["op"] == "events.gap" and d.pending() == 0 and owed.dropped == 0
    assert [n["seq"] for n in notices] == list(range(1, len(notices) + 1)) == \
        list(range(1, owed.notices + 1))
    assert all(n["obj"] == "" for n in notices)
    assert sum(n["data"]["dropped"] for n in notices) == full == notices[-1]["data"]["total"]
    assert sum(n["data"]["replies"] for n in notices) == replies_lost

    # reading again: frames get through, and a later drop gets notice number 2
    assert d.send(b"slow", FRAME) == "ok"
    assert msgpack.unpackb(dealer.recv(), raw=False)["op"] == "call.state"


def test_connections_that_are_gone_are_counted_and_bounded(
        pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]]) -> None:
    router, _ = pair
    d = Delivery(router, HWM)
    assert d.send(b"nobody", FRAME, reply=True) == "gone"
    assert d.owed[b"nobody"].replies == 1 and d.pending() == 1
    d.flush(0.0)  # still not connected: still owed
    assert d.pending() == 1
    for i in range(delivery.MAX_OWED + 10):
        d.send(f"gone-{i}".encode(), FRAME)
    assert len(d.owed) == delivery.MAX_OWED and d.pending() == delivery.MAX_OWED
    assert b"nobody" not in d.owed  # the oldest forgotten first
    assert d.dropped == delivery.MAX_OWED + 11
