"""The Waker with real sockets: a DEALER's message, or a signal, ends an armed sleep with one
CRLF datagram to the listener (a UDP socket standing for PJSIP's); unarmed, nothing is sent."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator

import pytest
import zmq

from agent.waker import CRLF, Waker
from tests.helpers import wait_for


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket[bytes], zmq.Socket[bytes], socket.socket, Waker]]:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router, dealer = ctx.socket(zmq.ROUTER), ctx.socket(zmq.DEALER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer.setsockopt(zmq.ROUTING_ID, b"agent")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"hello")  # the router learns the dealer's routing id
    assert router.recv_multipart() == [b"agent", b"hello"]
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(2.0)
    waker = Waker(int(dealer.getsockopt(zmq.FD)), listener.getsockname())
    waker.start()
    try:
        yield router, dealer, listener, waker
    finally:
        waker.close()
        listener.close()
        router.close(0)
        dealer.close(0)
        ctx.term()


def _quiet(listener: socket.socket, seconds: float) -> bool:
    listener.settimeout(seconds)
    try:
        listener.recv(16)
        return False
    except TimeoutError:
        return True
    finally:
        listener.settimeout(2.0)


def test_a_command_ends_an_armed_sleep(pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes],
                                                   socket.socket, Waker]) -> None:
    router, dealer, listener, waker = pair
    for n in range(3):
        # what the agent does before it sleeps: read ZMQ_EVENTS last, then arm
        assert not int(dealer.getsockopt(zmq.EVENTS)) & zmq.POLLIN
        waker.arm()
        router.send_multipart([b"agent", f"cmd-{n}".encode()])
        assert listener.recv(16) == CRLF
        waker.disarm()
        assert dealer.recv() == f"cmd-{n}".encode()
    # the helper thread counts a wake just after its datagram: the reader may be first
    wait_for(lambda: waker.wakes == 3, 5, "the third wake to be counted")


def test_unarmed_it_sends_nothing_and_one_wake_per_arming(
        pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes], socket.socket, Waker]) -> None:
    router, dealer, listener, waker = pair
    int(dealer.getsockopt(zmq.EVENTS))
    router.send_multipart([b"agent", b"while awake"])
    assert _quiet(listener, 0.3)  # the agent is awake: it reads the socket itself
    assert dealer.recv() == b"while awake"
    int(dealer.getsockopt(zmq.EVENTS))
    waker.arm()
    router.send_multipart([b"agent", b"one"])
    router.send_multipart([b"agent", b"two"])
    assert listener.recv(16) == CRLF
    assert _quiet(listener, 0.3)  # not again until armed again, unread messages or not
    assert waker.wakes == 1


def test_a_signal_ends_an_armed_sleep(pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes],
                                                  socket.socket, Waker]) -> None:
    _, _, listener, waker = pair
    got: list[int] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
    try:
        waker.arm()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert listener.recv(16) == CRLF
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == [signal.SIGUSR1]
