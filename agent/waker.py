"""Waking PJSIP for a command: what lets an idle agent sleep in PJSIP's own poll.

An agent's one thread serves two event sources that know nothing of each other: PJSIP (its SIP
sockets and timers, polled by ``libHandleEvents``) and the coordinator's ZeroMQ socket. Polling
both in turn costs an idle agent a wake-up every few milliseconds. Instead, while idle, the
agent blocks in ``libHandleEvents`` until PJSIP's next timer or its own (a heartbeat), and this
helper thread wakes it when a command arrives: it waits on the DEALER socket's ``ZMQ_FD`` (the
socket's mailbox signal, which is safe to wait on from another thread as long as only the
owning thread touches the socket itself) and sends a bare CRLF datagram to the agent's own UDP
SIP listener. PJSIP takes a CRLF as a keep-alive and ignores it, but its poll returns. A signal
(SIGTERM) wakes it the same way, through ``signal.set_wakeup_fd``.

``ZMQ_FD`` is edge-like: it turns readable when the socket's mailbox gets a command (a message
arriving on an empty pipe), and the owning thread resets it whenever it processes them (any
send, recv or ``ZMQ_EVENTS``). So the agent reads ``ZMQ_EVENTS`` last before it blocks: a
message already there means no block; any later one makes the descriptor readable. The thread
wakes PJSIP once per ``arm()`` and then waits to be armed again, so a message the agent has
not read yet cannot make it spin.

Hand-written because nothing in pyzmq or pjsua2 joins the two loops: pjsua2 exposes no way
to add a descriptor to PJSIP's ioqueue, and ZeroMQ cannot poll PJSIP's sockets.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading

#: the keep-alive PJSIP ignores (RFC 5626's double CRLF)
CRLF = b"\r\n\r\n"
#: how often the thread looks whether it was closed while it waits to be armed
POLL_S = 1.0


class Waker:
    #: sockets it holds: the datagram sender and the signal socket pair (agent.health counts
    #: them among the ones the agent is expected to hold)
    SOCKETS = 3

    def __init__(self, zmq_fd: int, sip_udp: tuple[str, int]) -> None:
        host, port = sip_udp
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._target = (host, port)
        self._out = socket.socket(family, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._zmq_fd = zmq_fd
        #: signals write a byte here (signal.set_wakeup_fd): a SIGTERM wakes the agent at once
        self._sig_r, self._sig_w = socket.socketpair()
        self._sig_r.setblocking(False)
        self._sig_w.setblocking(False)
        self._armed = threading.Event()
        self._closed = False
        self.wakes = 0
        self._thread = threading.Thread(target=self._run, name="waker", daemon=True)

    def start(self) -> None:
        self._thread.start()
        with contextlib.suppress(ValueError):  # not the main thread (unit tests): no signals
            signal.set_wakeup_fd(self._sig_w.fileno(), warn_on_full_buffer=False)

    def arm(self) -> None:
        """The agent is about to block in PJSIP: wake it at the next command."""
        self._armed.set()

    def disarm(self) -> None:
        self._armed.clear()

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._zmq_fd, select.POLLIN)
        poller.register(self._sig_r.fileno(), select.POLLIN)
        while not self._closed:
            if not self._armed.wait(POLL_S):
                continue
            try:
                ready = {fd for fd, _ in poller.poll(POLL_S * 1000)}
            except (OSError, ValueError):
                return  # closed under us
            if not ready or not self._armed.is_set():
                continue
            if self._sig_r.fileno() in ready:
                with contextlib.suppress(OSError):
                    while self._sig_r.recv(64):
                        pass
            self._armed.clear()
            with contextlib.suppress(OSError):
                self._out.sendto(CRLF, self._target)
                self.wakes += 1

    def close(self) -> None:
        self._closed = True
        self._armed.set()
        self._thread.join(POLL_S * 2 + 1)
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        for s in (self._out, self._sig_r, self._sig_w):
            s.close()
