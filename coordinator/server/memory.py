"""Giving memory back to the system after a burst (a flood, a subscriber's queue gone).

The coordinator's memory comes and goes in bursts: ZeroMQ queues messages for a slow peer, a
flood of requests makes many short-lived objects. When the burst is over, glibc's allocator
keeps the freed memory in its arenas, so the process stays at its peak. ``malloc_trim(0)``
(glibc) returns the free top of every arena and unused pages inside them; no library wraps it,
and it is one call through ctypes. On other C libraries it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

#: seconds between two trims at most (each costs a few ms on a large heap)
MIN_GAP_S = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if fn is not None:
        fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


_trim = _malloc_trim()
_last = [0.0]


def trim(now: float | None = None) -> bool:
    """Give free heap memory back to the system; ``now`` (monotonic) rate-limits the calls.
    Returns whether it ran."""
    if _trim is None or (now is not None and now - _last[0] < MIN_GAP_S):
        return False
    if now is not None:
        _last[0] = now
    _trim(0)
    return True
