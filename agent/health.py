"""The agent's health: what it measures of itself once a second, and when it must recycle.

PJSIP 2.15.1 can lose resources for good (bridge ports, sockets) on paths the agent does not
control. The agent measures what it holds against what its live objects explain, reports the
figures in every heartbeat (``callfleet status`` shows them), and when the unexplained part
stays high it *drains*: it takes no new call, lets its calls finish (at most ``DRAIN_MAX_S``),
then restarts itself in place (``agent.recycle``). Pure: the figures are passed in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: bridge ports taken beyond what live calls and media objects explain, at which an agent drains
BRIDGE_LEAK_LIMIT = 32
#: sockets open beyond what live calls, SIP listeners and the coordinator link explain, at which
#: an agent drains (PJSIP's socket table has 64 slots)
SOCKET_LEAK_LIMIT = 16
#: consecutive checks (one a second) a limit must be passed before the agent drains: a port or
#: socket of a call that just ended is released within a bridge tick or two
CHECKS_TO_DRAIN = 2
#: bridge ports leaked at which an agent drains at the first check: near exhaustion, every
#: second more costs calls
BRIDGE_LEAK_URGENT = 64
#: longest a draining agent waits for its calls to end before it recycles anyway
DRAIN_MAX_S = 30.0


@dataclass(frozen=True)
class Figures:
    """One reading: ``expected_*`` is what the live objects explain."""

    bridge_used: int
    bridge_max: int
    expected_ports: int
    sockets: int
    expected_sockets: int
    fds: int
    rss_kb: int

    @property
    def leaked_ports(self) -> int:
        return max(0, self.bridge_used - self.expected_ports)

    @property
    def leaked_sockets(self) -> int:
        return max(0, self.sockets - self.expected_sockets)

    def wire(self) -> dict[str, int]:
        """The heartbeat's health fields (PROTOCOL.md, agent heartbeat)."""
        return {"bridge_used": self.bridge_used, "bridge_max": self.bridge_max,
                "bridge_leaked": self.leaked_ports, "sockets": self.sockets,
                "sockets_leaked": self.leaked_sockets, "fds": self.fds, "rss_kb": self.rss_kb}


@dataclass
class Watch:
    """Counts consecutive readings past a limit; says why the agent must drain, once."""

    bridge_limit: int = BRIDGE_LEAK_LIMIT
    socket_limit: int = SOCKET_LEAK_LIMIT
    checks: int = CHECKS_TO_DRAIN
    urgent: int = BRIDGE_LEAK_URGENT
    _bad: int = 0

    def why(self, fig: Figures) -> str:
        """"" while healthy; otherwise the reason to drain (after ``checks`` bad readings)."""
        reasons = []
        urgent = fig.leaked_ports >= self.urgent
        if fig.leaked_ports >= self.bridge_limit:
            reasons.append(f"{fig.leaked_ports} of {fig.bridge_max} conference bridge ports "
                           "leaked")
        if fig.leaked_sockets >= self.socket_limit:
            reasons.append(f"{fig.leaked_sockets} sockets leaked ({fig.sockets} open)")
        self._bad = self._bad + 1 if reasons else 0
        return "; ".join(reasons) if self._bad >= self.checks or urgent else ""


def process_figures() -> tuple[int, int, int]:
    """(sockets, descriptors, resident KiB) of this process, from /proc (Linux)."""
    sockets = fds = 0
    try:
        for fd in os.listdir("/proc/self/fd"):
            fds += 1
            try:
                if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                    sockets += 1
            except OSError:
                continue  # closed meanwhile (the listing's own descriptor)
        with open("/proc/self/statm") as f:
            rss_pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return sockets, fds, 0
    return sockets, fds, rss_pages * os.sysconf("SC_PAGE_SIZE") // 1024
