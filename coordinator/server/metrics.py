"""The figures the coordinator exports to Prometheus, as an immutable snapshot its loop publishes.

Why a snapshot: the coordinator is one thread, and whatever blocks it blocks every agent and
client. ``/metrics`` used to be answered from that loop, and each idle TCP connection to it
stalled the loop. Now the loop never talks to a scraper: once a second (``PUBLISH_EVERY_S``, in
its housekeeping) it copies the figures into a ``Snapshot`` (frozen dataclasses of numbers,
strings and tuples) and publishes it by replacing one reference, which the GIL makes atomic.
prometheus_client's HTTP server, in threads of its own (``coordinator.server.metrics_export``),
renders whichever snapshot is current: the two sides share nothing mutable and take no lock,
so a scraper can delay nothing but itself.

What is in it: the fleet (agents, call slots, calls and accounts through the client API,
dropped messages), each live agent (calls, slots, state, and the health figures of its
heartbeat: bridge ports, sockets, descriptors, memory), and load runs: totals over every run
since the coordinator started, and per run (live runs, and the last ``KEEP_FINISHED`` that
ended, so that a run's final figures outlive its end). Setup times stay in the mergeable
histogram of ``proto.hist`` (bucket index -> count) until they are rendered.

``run_figures`` is the one function that reads a ``LoadRun``: a change of the run model is
adapted there.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from coordinator.server.registry import HEALTH_FIELDS

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator
    from coordinator.server.load.run import LoadRun

#: seconds between two snapshots published by the loop (Prometheus scrapes every 15 s or so)
PUBLISH_EVERY_S = 1.0
#: finished runs whose own figures are still exported (their totals are kept for ever)
KEEP_FINISHED = 16


@dataclass(frozen=True)
class RunFigures:
    """One load run's figures (or, with ``run`` empty, the sum over runs)."""

    run: str = ""
    live: bool = False
    started: int = 0
    answered: int = 0
    active: int = 0
    #: failed calls by SIP code (or PJSIP status), sorted by code
    failed: tuple[tuple[str, int], ...] = ()
    #: setup times: a proto.hist.Histogram's (bucket index, count) pairs, sorted by index
    setup: tuple[tuple[int, int], ...] = ()

    @property
    def failed_total(self) -> int:
        return sum(n for _, n in self.failed)

    def plus(self, other: RunFigures) -> RunFigures:
        """The sum of two runs' counters (``run``, ``live`` and ``active`` are this one's)."""
        failed, setup = Counter(dict(self.failed)), Counter(dict(self.setup))
        failed.update(dict(other.failed))
        setup.update(dict(other.setup))
        return RunFigures(self.run, self.live, self.started + other.started,
                          self.answered + other.answered, self.active,
                          tuple(sorted(failed.items())), tuple(sorted(setup.items())))


def run_figures(run: LoadRun, live: bool = True) -> RunFigures:
    """What /metrics exports of one load run: the one place that reads LoadRun's fields."""
    return RunFigures(run=run.run, live=live, started=run.started, answered=run.answered,
                      active=sum(run.active.values()) if live else 0,
                      failed=tuple(sorted((str(code), n) for code, n in run.failed.items() if n)),
                      setup=tuple(sorted(run.setup.counts.items())))


@dataclass
class LoadTotals:
    """What finished load runs add to the exported figures (owned by the loop)."""

    total: RunFigures = field(default_factory=RunFigures)
    recent: deque[RunFigures] = field(default_factory=lambda: deque(maxlen=KEEP_FINISHED))

    def add(self, run: LoadRun) -> None:
        """``run`` has ended: its figures join the totals and the recent runs."""
        figures = run_figures(run, live=False)
        self.total = self.total.plus(figures)
        self.recent.append(figures)


@dataclass(frozen=True)
class AgentFigures:
    name: str
    state: str
    calls: int
    capacity: int
    #: the heartbeat's health figures it reported (registry.HEALTH_FIELDS), by name
    health: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Snapshot:
    """Everything one scrape shows; ``taken_at`` is ``time.monotonic()`` at the copy."""

    taken_at: float
    agents: tuple[AgentFigures, ...]
    calls: int
    accounts: int
    dropped: int
    #: every run since the coordinator started (finished and live)
    load_total: RunFigures
    #: live runs, then the recent finished ones
    runs: tuple[RunFigures, ...]

    @property
    def call_slots(self) -> int:
        return sum(a.capacity for a in self.agents)


def take(server: Coordinator) -> Snapshot:
    """Copy the coordinator's figures (runs on the loop; costs O(agents + runs))."""
    live_runs = tuple(run_figures(run) for run in server.loads.values())
    total = server.load_totals.total
    for figures in live_runs:
        total = total.plus(figures)
    agents = tuple(
        AgentFigures(rec.name, rec.state, server.counts.calls_at(rec.name), rec.capacity,
                     tuple((k, rec.health[k]) for k in HEALTH_FIELDS if k in rec.health))
        for rec in server.registry.live())
    return Snapshot(taken_at=time.monotonic(), agents=agents, calls=server.counts.calls(),
                    accounts=len(server.objects.accounts),
                    dropped=server.sockets.dropped + server.delivery.dropped,
                    load_total=total, runs=live_runs + tuple(server.load_totals.recent))
