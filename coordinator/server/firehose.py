"""The PUB event firehose, bounded: what subscribers that never read can cost the coordinator.

A ZeroMQ PUB socket queues, for each subscriber, up to its send high-water mark in messages,
whatever their size; a subscriber that stops reading (or never reads) keeps its queue full for as
long as it stays connected. So three bounds, together a bound on memory:

* **Messages per subscriber:** ``queue`` (``--events-queue``, default 1000; beyond, PUB drops
  that subscriber's messages: ZeroMQ's own rule, counted nowhere by ZeroMQ).
* **Size:** an event frame over ``MAX_PUBLISHED`` bytes is not published on the firehose (it
  still reaches its owner and subscriptions); counted in ``skipped``.
* **Subscribers:** at most ``max_subscribers`` (``--max-subscribers``, default 32) connections;
  beyond, the handshake of a new one is refused by the coordinator's ZAP handler (the connection
  closes), counted in ``refused``. libzmq (4.3) takes a refusal for a protocol error: the refused
  subscriber's socket does not reconnect (but for a rare race), its owner must connect again.
  With CURVE the same handler checks keys first.

So the firehose holds at most ``max_subscribers x queue x MAX_PUBLISHED`` bytes, in practice
``max_subscribers x queue x`` the size of this fleet's events (0.3-4 KB): 32 x 1000 x 4 KB =
128 MB with no subscriber reading. Connections are counted from the PUB socket's monitor: libzmq
reports a connection's ACCEPTED (with its descriptor) before it asks ZAP about it, then the end of
its handshake (HANDSHAKE_SUCCEEDED, or HANDSHAKE_FAILED_*: refused, or closed before the end;
these carry no descriptor), then, last, its DISCONNECTED (with the descriptor). A subscriber is a
connection whose handshake succeeded and that is still open; one refused is not, though it stays
open until its peer reads the refusal and closes.
"""

from __future__ import annotations

import zmq
from zmq.utils.monitor import parse_monitor_message

from coordinator.server.frames import send_pair

#: largest event frame the firehose publishes, bytes (load.done reports of long runs are larger)
MAX_PUBLISHED = 64 * 1024
#: default messages queued per subscriber
QUEUE = 1000
#: default most subscriber connections
MAX_SUBSCRIBERS = 32

_OPENED = zmq.EVENT_ACCEPTED
_CLOSED = zmq.EVENT_DISCONNECTED | zmq.EVENT_CLOSED
#: the end of a handshake (its value is a status, not the connection's descriptor)
_SHAKEN = (zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
           | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


class Firehose:
    """The PUB socket (bound by the caller after :meth:`__init__` configured it), its monitor and
    its counters."""

    def __init__(self, sock: zmq.Socket[bytes], queue: int = QUEUE,
                 max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self.sock = sock
        self.max_subscribers = max_subscribers
        sock.setsockopt(zmq.SNDHWM, queue)
        sock.setsockopt(zmq.LINGER, 0)
        # ZAP is asked about every connection (also without CURVE): the subscriber cap
        sock.zap_domain = b"events"
        self.monitor: zmq.Socket[bytes] = sock.get_monitor_socket(_OPENED | _SHAKEN | _CLOSED)
        self.monitor.setsockopt(zmq.LINGER, 0)
        #: descriptors of the connections open now (admitted, refused, or in their handshake)
        self.open: set[int] = set()
        #: of those, the ones admitted (their handshake succeeded)
        self.admitted: set[int] = set()
        #: the others, whose handshake's end is not known yet or not tied to them yet (the
        #: monitor tells that a handshake ended, not which): of them ``handshaking`` have not
        #: ended, ``succeeded`` were admitted, the rest refused (or failed)
        self.unsure: set[int] = set()
        self.handshaking = 0
        self.succeeded = 0
        #: admitted by :meth:`room` whose handshake's success is not seen yet
        self.granted = 0
        self.skipped = 0
        self.refused = 0
        self.dropped = 0

    def on_monitor(self) -> int:
        """Take in the monitor's events; returns how many connections closed."""
        closed = 0
        while True:
            try:
                frames = self.monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return closed
            event = parse_monitor_message(frames)
            fd = int(event["value"])
            if event["event"] & _OPENED:
                self.open.add(fd)
                self.unsure.add(fd)
                self.handshaking += 1
            elif event["event"] & _SHAKEN:
                self.handshaking = max(0, self.handshaking - 1)
                if event["event"] & zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    self.succeeded += 1
                    self.granted = max(0, self.granted - 1)
            elif fd in self.open:
                self.open.discard(fd)
                closed += 1
                if fd in self.admitted:
                    self.admitted.discard(fd)
                elif fd in self.unsure:
                    # its handshake has ended (libzmq reports that before the close): a refused
                    # one when there is one among the unsure (a refused peer closes as soon as
                    # it reads the refusal), else an admitted one
                    failed = len(self.unsure) - self.handshaking - self.succeeded
                    self.unsure.discard(fd)
                    if failed <= 0:
                        self.succeeded = max(0, self.succeeded - 1)
            self._settle()

    def _settle(self) -> None:
        """Keep the counts within the unsure set; once none of it is handshaking or refused, all
        of it is admitted."""
        self.handshaking = min(self.handshaking, len(self.unsure))
        self.succeeded = min(self.succeeded, len(self.unsure) - self.handshaking)
        self.granted = min(self.granted, self.handshaking)
        if self.handshaking == 0 and self.succeeded == len(self.unsure):
            self.admitted |= self.unsure
            self.unsure.clear()
            self.succeeded = 0

    @property
    def subscribers(self) -> int:
        """Connections admitted and open (as of the monitor events taken in so far)."""
        return len(self.admitted) + self.succeeded

    def room(self) -> bool:
        """Whether the connection being handshaken may stay: fewer than ``max_subscribers``
        admitted (peers in their handshake or refused do not take a place)."""
        self.on_monitor()
        if self.subscribers + self.granted < self.max_subscribers:
            self.granted += 1
            return True
        self.refused += 1
        return False

    def publish(self, topic: bytes, frame: bytes) -> None:
        if len(frame) > MAX_PUBLISHED:
            self.skipped += 1
            return
        try:
            send_pair(self.sock, topic, frame)
        except zmq.Again:
            self.dropped += 1

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(0)
        self.sock.close(0)
