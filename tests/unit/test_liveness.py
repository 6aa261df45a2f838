"""coordinator.server.liveness.ConnWatch on real in-process ZeroMQ sockets and an injected clock: a peer
whose connection closed is reported lost after the grace; one that reconnects is not."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import zmq

from coordinator.server.liveness import GRACE_S, PROBE_DELAY_S, PROBE_EVERY_S, ConnWatch


@pytest.fixture
def router() -> Iterator[tuple[zmq.Context[zmq.Socket[bytes]], zmq.Socket[bytes], str]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.ROUTER_HANDOVER, 1)  # as the coordinator's agents socket
    sock.bind("tcp://127.0.0.1:*")
    yield ctx, sock, sock.getsockopt_string(zmq.LAST_ENDPOINT)
    ctx.destroy(linger=0)  # closes every socket a failed test left open (term() would wait)


def _peer(ctx: zmq.Context[zmq.Socket[bytes]], url: str, rid: bytes,
          router: zmq.Socket[bytes]) -> zmq.Socket[bytes]:
    d = ctx.socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.ROUTING_ID, rid)
    d.connect(url)
    d.send(b"hello")
    assert router.poll(5000)
    assert router.recv_multipart()[0] == rid
    return d


def _closed(watch: ConnWatch, now: float) -> None:
    assert watch.sock.poll(5000), "no monitor event"
    watch.on_monitor(now)


def test_a_closed_connection_is_lost_after_the_grace(router: tuple[
        zmq.Context[zmq.Socket[bytes]], zmq.Socket[bytes], str]) -> None:
    ctx, sock, url = router
    watch = ConnWatch(sock)
    try:
        alive, dead = _peer(ctx, url, b"alive", sock), _peer(ctx, url, b"dead", sock)
        assert not watch.probe_due(0.0)
        dead.close(0)
        _closed(watch, 10.0)
        assert watch.closed_connections == 1
        assert not watch.probe_due(10.0) and watch.probe_due(10.0 + PROBE_DELAY_S)
        now = 10.0 + PROBE_DELAY_S
        deadline = time.monotonic() + 10  # a loaded machine notices the close late
        while True:  # the ROUTER forgets the routing id once it has noticed the close
            if not watch.send(b"dead", b"probe", now):
                break
            assert time.monotonic() < deadline, "the closed peer stayed reachable"
            now += 0.01
        assert watch.send(b"alive", b"probe", now)
        assert watch.lost() == []  # not yet: a peer may reconnect within the grace
        assert not watch.send(b"dead", b"probe", now + GRACE_S)
        assert watch.lost() == [b"dead"] and watch.lost() == []
        assert alive.poll(1000)
    finally:
        alive.close(0)
        watch.close()


def test_a_peer_that_reconnects_within_the_grace_is_not_lost(router: tuple[
        zmq.Context[zmq.Socket[bytes]], zmq.Socket[bytes], str]) -> None:
    ctx, sock, url = router
    watch = ConnWatch(sock)
    first = _peer(ctx, url, b"agent", sock)
    try:
        first.close(0)
        _closed(watch, 0.0)
        now = PROBE_DELAY_S
        while watch.send(b"agent", b"probe", now):
            now += 0.01
        again = _peer(ctx, url, b"agent", sock)  # the same routing id on a new connection
        assert watch.send(b"agent", b"probe", now + PROBE_EVERY_S)
        assert not watch.send(b"nobody", b"probe", now + GRACE_S)  # unknown ids are just unreachable
        assert watch.lost() == []
        again.close(0)
    finally:
        watch.close()
