"""Work the loop does a little later (a request that waits for a slot to free): a heap of due
times, run from the loop's housekeeping (every turn, at most 100 ms apart when idle)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class Later:
    def __init__(self) -> None:
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._n = itertools.count()

    def at(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._due, (when, next(self._n), fn))

    def run_due(self, now: float) -> None:
        while self._due and self._due[0][0] <= now:
            _, _, fn = heapq.heappop(self._due)
            fn()

    def __len__(self) -> int:
        return len(self._due)
