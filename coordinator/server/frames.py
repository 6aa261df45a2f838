"""How a two-part message (a routing id or a topic, then the frame) is sent and received on the
coordinator's sockets.

Why these two functions instead of pyzmq's ``send_multipart`` and ``recv_multipart``: those
check every part's type and combine pyzmq's ``Flag`` enums for each part, which costs ~5 us a
message in Python (pyzmq 27, measured); sent or read part by part with the flags as plain ints,
a message costs ~2 us, at every heartbeat of every agent. The frames and the errors are the same
(``zmq.Again``; ``EHOSTUNREACH`` under ``ROUTER_MANDATORY``, raised on the first part: a ROUTER
checks its peer and its queue there).
"""

from __future__ import annotations

import zmq

_MORE = int(zmq.SNDMORE | zmq.NOBLOCK)
_NOBLOCK = int(zmq.NOBLOCK)


def send_pair(sock: zmq.Socket[bytes], head: bytes, frame: bytes) -> None:
    """Send ``head`` (a routing id or a topic) and ``frame`` as one message, without blocking:
    raises ``zmq.Again`` (queue full) or ``zmq.ZMQError`` (peer gone) as ``send_multipart``."""
    sock.send(head, _MORE)
    sock.send(frame, _NOBLOCK)


def recv_routed(sock: zmq.Socket[bytes]) -> list[bytes]:
    """One waiting message's parts (the routing id first), without blocking: raises
    ``zmq.Again`` when none waits. The parts after the first are in the socket already (ZeroMQ
    delivers a message whole)."""
    parts = [sock.recv(_NOBLOCK)]
    more = True
    while more:
        part = sock.recv(_NOBLOCK, copy=False)
        parts.append(part.bytes)
        more = part.more
    return parts
