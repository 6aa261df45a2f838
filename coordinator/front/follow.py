"""The front follows the fleet: the coordinator's agent list (``lib.agents``), read every half
second, becomes Kamailio's dispatcher list whenever the set of ready agents changes (agents
joining, leaving, lost, draining, replaced, on any host). Between two reads Kamailio's own
OPTIONS probes skip an agent that stopped answering."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from coordinator.front.config import Destination, FrontConfig, destinations, dispatcher_list, write_atomically
from coordinator.front.process import Kamailio, KamailioError

log = logging.getLogger("callfleet front")

POLL_S = 0.5


def describe(old: list[Destination] | None, new: list[Destination]) -> str:
    """``12 agents (agent-01 .. agent-12)`` at first, then what changed: ``11 agents
    (-agent-05)``."""
    n = f"{len(new)} agent" + ("" if len(new) == 1 else "s")
    if old is None:
        names = [d.agent for d in new]
        shown = ", ".join(names) if len(names) <= 4 else f"{names[0]} .. {names[-1]}"
        return f"{n} ({shown})" if names else f"{n}: calls get 503 until one is ready"
    before, after = {d.agent for d in old}, {d.agent for d in new}
    changes = [f"+{a}" for a in sorted(after - before)] + [f"-{a}" for a in sorted(before - after)]
    moved = sorted(d.agent for d in new if d.agent in before and d not in old)
    changes += [f"~{a}" for a in moved]
    return f"{n} ({' '.join(changes)})"


def exit_status(code: int | None) -> str:
    """``exit status 1``, ``killed by SIGKILL``."""
    if code is None:
        return "unknown status"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Follower:
    """Keeps the dispatcher list equal to the fleet's ready agents."""

    def __init__(self, cfg: FrontConfig, read_agents: Callable[[], list[dict[str, Any]]],
                 say: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.read_agents = read_agents
        self.say = say
        self.applied: list[Destination] | None = None
        self.unreachable = False

    def write_initial(self) -> None:
        """The list Kamailio starts with (before it runs: no reload)."""
        dests = destinations(self.read_agents())
        write_atomically(self.cfg.list_file, dispatcher_list(dests))
        self.say(describe(None, dests))
        self.applied = dests

    def turn(self, kam: Kamailio) -> None:
        try:
            agents = self.read_agents()
        except Exception as exc:  # the coordinator away: keep the list, Kamailio probes
            if not self.unreachable:
                self.say(f"coordinator unreachable ({exc}); keeping the last agent list")
            self.unreachable = True
            return
        if self.unreachable:
            self.say("coordinator reachable again")
            self.unreachable = False
        dests = destinations(agents)
        if dests == self.applied:
            return
        write_atomically(self.cfg.list_file, dispatcher_list(dests))
        try:
            kam.reload()
        except KamailioError as exc:
            log.warning("%s (tried again in %g s)", exc, POLL_S)
            return
        self.say(describe(self.applied, dests))
        self.applied = dests

    def run(self, kam: Kamailio, stop: threading.Event) -> int:
        """Until ``stop`` (0) or Kamailio's exit (1)."""
        while not stop.wait(POLL_S):
            if not kam.alive():
                self.say(f"kamailio exited ({exit_status(kam.proc.returncode if kam.proc else None)})"
                         f"{kam.errors()}; its log: {kam.log}")
                return 1
            self.turn(kam)
        return 0
