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
  closes; the subscriber's ZeroMQ retries), counted in ``refused``. With CURVE the same handler
  checks keys first.

So the firehose holds at most ``max_subscribers x queue x MAX_PUBLISHED`` bytes, in practice
``max_subscribers x queue x`` the size of this fleet's events (0.3-4 KB): 32 x 1000 x 4 KB =
128 MB with no subscriber reading. Connections are counted from the PUB socket's monitor (accepted
minus closed), which libzmq reports before it asks ZAP about a new connection.
"""

from __future__ import annotations

import zmq
from zmq.utils.monitor import parse_monitor_message

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
        #: descriptors of the connections open now (admitted, or in their handshake)
        self.open: set[int] = set()
        #: of those, how many are in their handshake (a refused peer that reconnects is, a
        #: moment, each time)
        self.handshaking = 0
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
                self.handshaking += 1
            elif event["event"] & _SHAKEN:
                self.handshaking = max(0, self.handshaking - 1)
            elif fd in self.open:
                self.open.discard(fd)
                closed += 1

    @property
    def subscribers(self) -> int:
        """Connections admitted and open (as of the monitor events taken in so far)."""
        return max(0, len(self.open) - self.handshaking)

    def room(self) -> bool:
        """Whether the connection being handshaken may stay (it is counted as open already)."""
        self.on_monitor()
        if len(self.open) <= self.max_subscribers:
            return True
        self.refused += 1
        return False

    def publish(self, topic: bytes, frame: bytes) -> None:
        if len(frame) > MAX_PUBLISHED:
            self.skipped += 1
            return
        try:
            self.sock.send_multipart([topic, frame], zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(0)
        self.sock.close(0)
