"""The coordinator's sockets: the agents ROUTER, the clients ROUTER, the PUB firehose, the ZAP
handler's socket and the agents ROUTER's monitor, bound once, with the options of the design
(``LINGER=0``, ``ROUTER_MANDATORY``, explicit high-water marks, ``MAXMSGSIZE``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import zmq

from coordinator.server.firehose import Firehose
from coordinator.server.frames import recv_routed, send_pair
from coordinator.server.liveness import ConnWatch
from coordinator.server.security import (
    DOMAIN_AGENTS,
    DOMAIN_CLIENTS,
    DOMAIN_EVENTS,
    ZAP_ENDPOINT,
    ServerKeys,
    serve_curve,
)
from proto import limits

log = logging.getLogger("coordinator")



def router(ctx: zmq.Context[zmq.Socket[bytes]], url: str, keys: ServerKeys | None,
           domain: str, sndhwm: int = 100000, sndbuf: int = 0) -> zmq.Socket[bytes]:
    """``keys``: CURVE server keys (None: plain); ``sndhwm``: messages queued per connection;
    ``sndbuf``: its kernel buffer (0: the OS's)."""
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
    sock.setsockopt(zmq.SNDHWM, sndhwm)
    if sndbuf:
        sock.setsockopt(zmq.SNDBUF, sndbuf)
    sock.setsockopt(zmq.RCVHWM, 100000)
    sock.setsockopt(zmq.MAXMSGSIZE, limits.MAX_FRAME)
    if keys is not None:
        serve_curve(sock, keys, domain)
    sock.bind(url)
    return sock


class Sockets:
    def __init__(self, agents_url: str, clients_url: str, events_url: str | None,
                 keys: ServerKeys | None, client_queue: int, client_sndbuf: int,
                 events_queue: int, max_subscribers: int) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.keys = keys
        #: the ZAP handler, answered from the loop (bound before any socket that uses it):
        #: keys with CURVE, and the firehose's subscriber cap
        self.zap: zmq.Socket[bytes] | None = None
        if keys is not None or events_url:
            self.zap = self.ctx.socket(zmq.REP)
            self.zap.setsockopt(zmq.LINGER, 0)
            self.zap.bind(ZAP_ENDPOINT)
        self.agents = router(self.ctx, agents_url, keys, DOMAIN_AGENTS)
        # an agent that reconnects under its name takes the name's routing id over at once: the
        # old connection may still look open here (half-open after a network cut, or closing),
        # and a ROUTER refuses a second connection with an id in use
        self.agents.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.clients = router(self.ctx, clients_url, keys, DOMAIN_CLIENTS, client_queue,
                              client_sndbuf)
        # the same for a client that reconnects at once under its routing id: without handover,
        # libzmq ignores the new connection (never reads it) until it has noticed that the old
        # one closed, so requests sent right after a reconnect could go unanswered for seconds
        self.clients.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.firehose: Firehose | None = None
        if events_url:
            self.firehose = Firehose(self.ctx.socket(zmq.PUB), events_queue, max_subscribers)
            if keys is not None:
                serve_curve(self.firehose.sock, keys, DOMAIN_EVENTS)
            self.firehose.sock.bind(events_url)
        self.watch = ConnWatch(self.agents)
        self.poller = zmq.Poller()
        for sock in (self.agents, self.clients, self.watch.sock, self.zap,
                     self.firehose.monitor if self.firehose is not None else None):
            if sock is not None:
                self.poller.register(sock, zmq.POLLIN)
        #: frames that could not be sent (peer gone, or its queue full)
        self.dropped = 0

    def send(self, sock: zmq.Socket[bytes], rid: bytes, frame: bytes) -> bool:
        try:
            send_pair(sock, rid, frame)
            return True
        except (zmq.Again, zmq.ZMQError):  # peer gone (ROUTER_MANDATORY) or its queue full
            self.dropped += 1
            return False

    def recv(self, sock: zmq.Socket[bytes],
             seen: Callable[[bytes, str], None]) -> list[bytes]:
        """One message's frames; with CURVE, a client connection's authenticated key (the ZAP
        User-Id of its frames) goes to ``seen`` (for the access rules)."""
        if self.keys is None or sock is not self.clients:
            return recv_routed(sock)
        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
        parts = [f.bytes for f in frames]
        if len(parts) >= 2:
            seen(parts[0], str(frames[-1].get("User-Id")))
        return parts

    def endpoints(self) -> dict[str, str]:
        """The URLs actually bound (ports chosen by the OS when asked for port 0 or *)."""
        out = {"agents": self.agents.getsockopt_string(zmq.LAST_ENDPOINT),
               "clients": self.clients.getsockopt_string(zmq.LAST_ENDPOINT)}
        if self.firehose is not None:
            out["events"] = self.firehose.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return out

    def close(self) -> None:
        self.watch.close()
        if self.firehose is not None:
            self.firehose.close()
        for sock in (self.agents, self.clients, self.zap):
            if sock is not None:
                sock.close(0)
        self.ctx.term()
