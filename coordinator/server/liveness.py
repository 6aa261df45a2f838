"""Fast loss detection: an agent whose connection closed (crash, SIGKILL, OOM kill) is declared
lost in well under a second, instead of after the heartbeat timeout (3 s).

ZeroMQ does not tell a ROUTER which peer went away, but its monitor reports that *a* connection
closed, and a ROUTER with ``ROUTER_MANDATORY`` refuses at once (EHOSTUNREACH) to send to a routing
id that has no connection any more. So on every closed connection the coordinator probes each
live agent (it sends it a heartbeat) a moment later and again every ``PROBE_EVERY_S`` for a while;
an agent that stays unreachable for ``GRACE_S`` is lost. A live agent whose TCP connection merely
broke reconnects under the same routing id (DEALER reconnect interval: 100 ms) well within the
grace, and its next probe succeeds.

A stopped (SIGSTOP) or cut-off agent keeps its connection: the heartbeat timeout finds it.
Pure apart from the two sockets; the clock is passed in.
"""

from __future__ import annotations

import zmq

from coordinator.server.frames import send_pair

#: delay from a closed connection to the first probe (the ROUTER drops the routing id once it
#: has delivered the messages that arrived before the close, i.e. within one loop turn)
PROBE_DELAY_S = 0.05
#: probe period while some agent is unreachable, or shortly after a closed connection
PROBE_EVERY_S = 0.2
#: how long an agent must stay unreachable to be declared lost
GRACE_S = 0.5
#: how long after a closed connection the probes go on even if every agent answered
PROBE_WINDOW_S = 1.0


class ConnWatch:
    def __init__(self, router: zmq.Socket[bytes]) -> None:
        self.router = router
        self.sock: zmq.Socket[bytes] = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self.sock.setsockopt(zmq.LINGER, 0)
        self._probe_at: float | None = None
        self._probe_until = 0.0
        #: routing id -> (first failed send, last failed send)
        self._unreachable: dict[bytes, tuple[float, float]] = {}
        self.closed_connections = 0

    def on_monitor(self, now: float) -> None:
        """Drain the monitor's events; any closed connection schedules probes."""
        while True:
            try:
                self.sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            self.closed_connections += 1
            self._probe_until = now + PROBE_WINDOW_S
            first = now + PROBE_DELAY_S
            self._probe_at = first if self._probe_at is None else min(self._probe_at, first)

    def probe_due(self, now: float) -> bool:
        """True when every live agent should be sent a heartbeat now (through :meth:`send`)."""
        if self._probe_at is None or now < self._probe_at:
            return False
        more = bool(self._unreachable) or now < self._probe_until
        self._probe_at = now + PROBE_EVERY_S if more else None
        return True

    def send(self, rid: bytes, frame: bytes, now: float) -> bool:
        """Send ``frame`` to an agent, noting whether it still has a connection."""
        try:
            send_pair(self.router, rid, frame)
        except zmq.Again:
            return False  # connected, but its queue is full: the heartbeat timeout decides
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                first, _ = self._unreachable.get(rid, (now, now))
                self._unreachable[rid] = (first, now)
                if self._probe_at is None:
                    self._probe_at = now + PROBE_EVERY_S
            return False
        self._unreachable.pop(rid, None)
        return True

    def lost(self) -> list[bytes]:
        """Routing ids that failed every probe for at least GRACE_S (each reported once)."""
        out = [rid for rid, (first, last) in self._unreachable.items() if last - first >= GRACE_S]
        for rid in out:
            del self._unreachable[rid]
        return out

    def forget(self, rid: bytes) -> None:
        self._unreachable.pop(rid, None)

    def close(self) -> None:
        self.router.disable_monitor()
        self.sock.close(0)
