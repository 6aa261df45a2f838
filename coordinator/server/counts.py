"""What each agent holds, for placement and for what ``lib.agents`` and ``lib.status`` show:
the clients' calls and accounts (``ObjectTable``) and the calls and accounts of the load runs
on it (their agents report them once a second). A load run's calls take call slots like any
other call, so an API call is not placed on an agent a run keeps full."""

from __future__ import annotations

from collections.abc import Mapping

from coordinator.server.load.run import LoadRun
from coordinator.server.objects import ObjectTable


class FleetCounts:
    def __init__(self, objects: ObjectTable, loads: Mapping[str, LoadRun]) -> None:
        self.objects = objects
        self.loads = loads

    def calls_at(self, agent: str) -> int:
        return self.objects.calls_at(agent) + self.load_calls_at(agent)

    def load_calls_at(self, agent: str) -> int:
        return sum(run.slots_at(agent) for run in self.loads.values())

    def accounts_at(self, agent: str) -> int:
        return self.objects.accounts_at(agent) + sum(
            run.accounts_at(agent) for run in self.loads.values())

    def calls(self) -> int:
        """Every call leg the fleet holds: the clients' and the load runs'."""
        return len(self.objects.calls) + sum(
            run.slots_at(agent) for run in self.loads.values() for agent in run.shares)
