"""The agent's DEALER connection to the coordinator (socket options: PROTOCOL.md section 1)."""

from __future__ import annotations

import os
import secrets

import zmq

import proto
from proto import limits
from proto.curve import ClientKeys


def connect(ctx: zmq.Context[zmq.Socket[bytes]], url: str, name: str,
            keys: ClientKeys | None = None) -> zmq.Socket[bytes]:
    """With ``keys``, a CURVE client: an unknown key completes no connection (the agent keeps
    retrying, and is never admitted)."""
    sock = ctx.socket(zmq.DEALER)
    # A fresh routing id per process: a restarted agent is a new peer for the ROUTER.
    sock.setsockopt(zmq.ROUTING_ID, f"{name}/{os.getpid()}/{secrets.token_hex(3)}".encode())
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 10000)
    sock.setsockopt(zmq.RCVHWM, 10000)
    sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
    sock.setsockopt(zmq.RECONNECT_IVL, 100)
    sock.setsockopt(zmq.RECONNECT_IVL_MAX, 32000)
    sock.setsockopt(zmq.IMMEDIATE, 1)
    if keys is None:
        sock.connect(url)
        return sock
    keys.apply(sock)
    # the CURVE handshake takes a few round trips, and IMMEDIATE drops what is sent before it
    # completes: wait for it (bounded) so that the first hello is not lost to a heartbeat period
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    try:
        sock.connect(url)
        monitor.poll(int(limits.HEARTBEAT_S * 1000))
    finally:
        sock.disable_monitor()
        monitor.close(0)
    return sock


def send(sock: zmq.Socket[bytes], msg: proto.Message) -> bool:
    """Send without blocking; False when the coordinator is unreachable (the message is dropped)."""
    try:
        sock.send(proto.encode(msg), zmq.NOBLOCK)
        return True
    except zmq.Again:
        return False
