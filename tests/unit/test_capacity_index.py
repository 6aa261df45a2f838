"""The capacity index (coordinator.server.capacity) against the scan it replaces
(placement.place_call over every agent's load): random fleets, random changes, random asks.
Pure; seeded, so a failure names its case."""

from __future__ import annotations

import random

import pytest

from coordinator.server.capacity import CapacityIndex
from coordinator.server.placement import AgentLoad, place_call


class Fleet:
    """Agents' loads, changed at random; every change is touched, as the coordinator does."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.rng = rng
        self.loads: dict[str, AgentLoad] = {}
        self.index = CapacityIndex(self.loads.get, lambda: list(self.loads))
        for i in range(n):
            self.set(f"a{i:04d}")

    def set(self, name: str) -> None:
        r = self.rng
        cap = r.choice((4, 4, 4, 8, 64))
        self.loads[name] = AgentLoad(name, cap, r.randint(0, cap), r.choice((0, 2, 6, 48)),
                                     r.randint(0, 8), r.random() > 0.1, 8)
        self.index.touch(name)

    def change(self) -> None:
        r = self.rng
        roll = r.random()
        names = list(self.loads)
        if roll < 0.05 and names:  # an agent lost
            name = r.choice(names)
            del self.loads[name]
            self.index.touch(name)
        elif roll < 0.1:  # an agent joins (or comes back)
            self.set(f"a{r.randint(0, 2 * len(names) + 10):04d}")
        elif names:  # a call, an account, a heartbeat...
            self.set(r.choice(names))

    def ask(self) -> tuple[str | None, str | None]:
        r = self.rng
        names = sorted(self.loads) or ["nobody"]
        home = r.choice([None, *r.sample(names, min(2, len(names)))])
        replicas = set(r.sample(names, r.randint(0, min(5, len(names)))))
        exclude = set(r.sample(names, r.randint(0, min(3, len(names)))))
        scan = place_call(list(self.loads.values()), home, replicas, exclude)
        return self.index.place_call(home, replicas, exclude), scan


@pytest.mark.parametrize("seed", range(40))
def test_the_index_agrees_with_the_scan(seed: int) -> None:
    rng = random.Random(seed)
    fleet = Fleet(rng, rng.choice((1, 3, 16, 100, 400)))
    for _ in range(300):
        for _ in range(rng.randint(0, 6)):
            fleet.change()
        indexed, scanned = fleet.ask()
        assert indexed == scanned, seed
    fleet.index.check()


def test_an_untouched_change_is_caught_by_check() -> None:
    rng = random.Random(1)
    fleet = Fleet(rng, 10)
    fleet.index.place_call(None, (), ())
    full = next(n for n, a in fleet.loads.items() if a.free_slots > 0 and a.account_room)
    a = fleet.loads[full]
    fleet.loads[full] = AgentLoad(a.name, a.capacity, a.capacity, a.sockets_free, a.accounts,
                                  a.alive, a.max_accounts)  # full now, and nobody said so
    with pytest.raises(AssertionError):
        fleet.index.check()


def test_stale_entries_stay_bounded() -> None:
    """One agent moving between levels 20,000 times does not grow the heaps."""
    loads = {"a": AgentLoad("a", 64, 0, 128), "b": AgentLoad("b", 64, 0, 128)}
    index = CapacityIndex(loads.get, lambda: list(loads))
    index.touch_all()
    for i in range(40000):
        loads["a"] = AgentLoad("a", 64, i % 64, 128)
        index.touch("a")
        assert index.best() == ("a" if i % 64 == 0 else "b")
    # each level's heap holds at most twice its agents and _SLACK stale entries more
    assert sum(len(h) for h in index._heaps.values()) <= 65 * (2 * 1 + 64 + 1)
