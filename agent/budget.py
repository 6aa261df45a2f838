"""Admission control for PJSIP's socket table (pure; the clock is injected).

PJSIP's select() ioqueue has 64 handle slots and keeps a closed socket's slot busy for about
500 ms. Exhausting it aborts the process, so an agent counts sockets itself and refuses calls
before PJSIP could run out.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable


class SocketBudget:
    """Sockets in use plus sockets whose slot is still lingering after close."""

    def __init__(self, total: int = 48, per_call: int = 2, linger_s: float = 0.6,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if total < per_call or per_call < 1 or linger_s < 0:
            raise ValueError("budget too small")
        self.total = total
        self.per_call = per_call
        self.linger_s = linger_s
        self._clock = clock
        self._in_use = 0
        self._lingering: collections.deque[tuple[float, int]] = collections.deque()

    def _expire(self) -> None:
        now = self._clock()
        while self._lingering and self._lingering[0][0] <= now:
            self._lingering.popleft()

    @property
    def lingering(self) -> int:
        self._expire()
        return sum(n for _, n in self._lingering)

    @property
    def in_use(self) -> int:
        return self._in_use

    def free(self) -> int:
        """Sockets that may still be opened now."""
        return self.total - self._in_use - self.lingering

    def used(self) -> int:
        """Sockets counted now: in use plus lingering."""
        return self._in_use + self.lingering

    def wait_s(self, limit: int) -> float | None:
        """Seconds until at most ``limit`` sockets are counted (0.0: already), assuming none is
        taken meanwhile; None when the sockets in use alone exceed ``limit``."""
        if self._in_use > limit:
            return None
        self._expire()
        excess = self._in_use + sum(n for _, n in self._lingering) - limit
        if excess <= 0:
            return 0.0
        now = self._clock()
        for expiry, n in self._lingering:
            excess -= n
            if excess <= 0:
                return max(0.0, expiry - now)
        return None  # not reached: the lingering sum covers the excess

    def can_take(self, extra: int = 0) -> bool:
        """Whether a call (with ``extra`` sockets beyond a call's own) fits now."""
        return self.free() >= self.per_call + extra

    def take(self) -> None:
        """Count one call's sockets (also for calls that arrive: PJSIP opened them already)."""
        self._in_use += self.per_call

    def take_extra(self, extra: int) -> None:
        """Count sockets a call opens beyond its own (its extra media streams)."""
        self._in_use += extra

    def release(self, extra: int = 0) -> None:
        """One call's sockets (and its ``extra`` ones) closed: their slots stay busy for
        ``linger_s``."""
        count = self.per_call + extra
        if self._in_use < count:
            raise RuntimeError("release without take")
        self._in_use -= count
        self._lingering.append((self._clock() + self.linger_s, count))
