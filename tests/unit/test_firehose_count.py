"""The firehose's subscriber count and cap from the PUB monitor's events, in the orders libzmq
reports them (a connection: ACCEPTED with its descriptor, the end of its handshake without one,
then DISCONNECTED with the descriptor)."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
import zmq

from coordinator.server.firehose import Firehose

OPEN, OK, AUTH, GONE = (zmq.EVENT_ACCEPTED, zmq.EVENT_HANDSHAKE_SUCCEEDED,
                        zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_DISCONNECTED)
LOST = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL


class FakeMonitor:
    def __init__(self) -> None:
        self.frames: list[list[bytes]] = []

    def recv_multipart(self, flags: int = 0) -> list[bytes]:
        if not self.frames:
            raise zmq.Again()
        return self.frames.pop(0)


@pytest.fixture
def hose() -> Iterator[tuple[Firehose, FakeMonitor]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    h = Firehose(ctx.socket(zmq.PUB), max_subscribers=2)
    real = h.monitor
    fake = FakeMonitor()
    h.monitor = fake  # type: ignore[assignment]
    yield h, fake
    h.monitor = real
    h.close()
    ctx.term()


def feed(h: Firehose, fake: FakeMonitor, *events: tuple[int, int]) -> None:
    fake.frames += [[struct.pack("=hi", e, v), b"tcp://127.0.0.1:1"] for e, v in events]
    h.on_monitor()


def test_refused_connections_are_not_counted_until_they_close(
        hose: tuple[Firehose, FakeMonitor]) -> None:
    h, m = hose
    for fd in (10, 11):
        feed(h, m, (OPEN, fd))
        assert h.room()
    feed(h, m, (OK, 0), (OK, 0))
    assert h.subscribers == 2
    feed(h, m, (OPEN, 12), (OPEN, 13))
    assert not h.room() and not h.room()
    feed(h, m, (AUTH, 400), (AUTH, 400))
    assert h.subscribers == 2  # the refused ones, still open, are no subscribers
    feed(h, m, (GONE, 12), (GONE, 13))
    assert (h.subscribers, h.refused, len(h.open)) == (2, 2, 2)


def test_a_place_freed_goes_to_a_newcomer_though_refused_ones_are_open(
        hose: tuple[Firehose, FakeMonitor]) -> None:
    h, m = hose
    for fd in (10, 11):
        feed(h, m, (OPEN, fd))
        assert h.room()
    feed(h, m, (OK, 0), (OK, 0), (OPEN, 12))
    assert not h.room()
    feed(h, m, (GONE, 11), (OPEN, 11))  # one leaves; its descriptor is reused at once
    assert h.room()  # the refused one (12, not closed yet) takes no place
    feed(h, m, (AUTH, 400), (OK, 0))
    assert h.subscribers == 2
    feed(h, m, (GONE, 12))
    assert (h.subscribers, h.admitted) == (2, {10, 11})


def test_a_connection_lost_in_its_handshake_leaves_no_trace(
        hose: tuple[Firehose, FakeMonitor]) -> None:
    h, m = hose
    feed(h, m, (OPEN, 10), (OPEN, 11))
    assert h.room()
    feed(h, m, (LOST, 104), (GONE, 11), (OK, 0))
    assert (h.subscribers, h.admitted, h.unsure, h.granted) == (1, {10}, set(), 0)
    feed(h, m, (OPEN, 11))
    assert h.room()  # the place the lost one never took is free
