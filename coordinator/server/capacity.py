"""An index of the fleet's free call capacity, so that placing a call does not scan every agent.

``place_call`` (coordinator.server.placement) states the rule over a list of every agent's
load; with a thousand agents, building that list for each ``call.make`` was most of the
coordinator's work. This index gives the same answers: the account's home agent and its
replicas are looked at directly (few), and for the rest of the fleet it keeps, for each number
of free slots, a heap of the names of the agents that have that many and room for an account;
the answer is the lowest name in the highest non-empty level, as the scan's sort gives.

It learns of changes by ``touch(name)``: whatever may change an agent's free slots, account
count or readiness touches it (the coordinator touches the agent after each of its messages,
and the object table on each count it changes); ``touch_all()`` for what may change many (a
load run starting or ending). A touched agent is re-read (``load_of``) at the next question, so
a burst of changes costs one re-read. Heap entries of an agent that moved are left behind and
skipped when met (lazy deletion). Pure: no sockets, no clock.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable

from coordinator.server.placement import AgentLoad

#: stale heap entries tolerated beyond as many as the live ones, before a level is rebuilt
_SLACK = 64


class CapacityIndex:
    def __init__(self, load_of: Callable[[str], AgentLoad | None],
                 names: Callable[[], Iterable[str]],
                 free_of: Callable[[str], int] | None = None) -> None:
        """``load_of(name)``: the agent's load now (None: not a live agent); ``names()``: the
        live agents (read by ``touch_all``); ``free_of(name)``: its free slots alone, when the
        caller has a quicker way than ``load_of`` (the home and replicas are read each call)."""
        self._load_of = load_of
        self._names = names
        self._free_of = free_of or self._free_by_load
        #: agent -> the level it is filed under (its free slots; absent: in no level)
        self._level: dict[str, int] = {}
        #: level -> heap of names (some stale: their agent is at another level now)
        self._heaps: dict[int, list[str]] = {}
        self._dirty: set[str] = set()
        #: level -> how many agents are filed under it (its heap holds these and stale ones)
        self._count: dict[int, int] = {}

    def touch(self, name: str) -> None:
        self._dirty.add(name)

    def touch_all(self) -> None:
        self._dirty.update(self._level)
        self._dirty.update(self._names())

    def _refresh(self) -> None:
        for name in self._dirty:
            load = self._load_of(name)
            level = load.free_slots if load is not None and load.account_room else 0
            before = self._level.get(name, 0)
            if before == level:
                continue
            if before:
                self._count[before] -= 1
            if level > 0:
                self._level[name] = level
                self._count[level] = self._count.get(level, 0) + 1
                heap = self._heaps.setdefault(level, [])
                heapq.heappush(heap, name)
                if len(heap) > 2 * self._count[level] + _SLACK:
                    self._compact(level)
            else:
                self._level.pop(name, None)
        self._dirty.clear()

    def _compact(self, level: int) -> None:
        """Rebuild a level's heap without its stale entries (their share bounds the heap)."""
        heap = [name for name, at in self._level.items() if at == level]
        heapq.heapify(heap)
        self._heaps[level] = heap

    def best(self, exclude: Collection[str] = ()) -> str | None:
        """The agent with the most free slots and room for an account (ties: the lowest name),
        not in ``exclude``; None when there is none."""
        self._refresh()
        for level in sorted(self._heaps, reverse=True):
            heap = self._heaps[level]
            skipped: list[str] = []
            found = None
            while heap:
                name = heap[0]
                if self._level.get(name) != level:
                    heapq.heappop(heap)  # stale: the agent moved to another level
                    continue
                if name in exclude:
                    skipped.append(heapq.heappop(heap))
                    continue
                found = name
                break
            for name in skipped:
                heapq.heappush(heap, name)
            if not heap:
                del self._heaps[level]
                self._count.pop(level, None)
            if found is not None:
                return found
        return None

    def place_call(self, home: str | None, replicas: Collection[str],
                   exclude: Collection[str] = ()) -> str | None:
        """What ``placement.place_call`` answers over the whole fleet: the home agent when it
        has a free slot, else the replica with the most free slots, else ``best``."""
        if home is not None and home not in exclude and self._free_of(home) > 0:
            return home
        best: tuple[int, str] | None = None
        for name in replicas:
            if name not in exclude and (free := self._free_of(name)) > 0 \
                    and (best is None or (-free, name) < (-best[0], best[1])):
                best = (free, name)
        return best[1] if best is not None else self.best(exclude)

    def _free_by_load(self, name: str) -> int:
        load = self._load_of(name)
        return load.free_slots if load is not None else 0

    def check(self) -> None:
        """Raise AssertionError unless every live agent is filed where its load says (for tests:
        a change that was not touched)."""
        self._refresh()
        for name in self._names():
            load = self._load_of(name)
            level = load.free_slots if load is not None and load.account_room else 0
            assert self._level.get(name, 0) == level, (name, self._level.get(name), level)
