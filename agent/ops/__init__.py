"""What the agent executes: one executor per op, registered with ``@executes`` in the module of
the op's group; importing this package fills ``EXECUTORS``."""

from __future__ import annotations

from agent.ops import account, buddy, call, codec, load, media
from agent.ops.registry import EXECUTORS, Executor, executes

GROUPS = (account, buddy, call, codec, load, media)

__all__ = ["EXECUTORS", "GROUPS", "Executor", "executes"]
