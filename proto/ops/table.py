"""One table per side, keyed by op: the agent's executors and the coordinator's routes are both
registered by a decorator that checks the op against its spec (``proto/ops/<group>.py``): the
op must be one this side serves, the function must live in the module of the op's group, and an
op gets one function only. Every mistake is an error at import, naming the right place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from proto.ops import OPS
from proto.ops.spec import OpSpec

F = TypeVar("F", bound=Callable[..., object])


class OpTable(Generic[F]):
    """``table.register(op)`` is the decorator; ``table.fns`` is the op -> function map."""

    def __init__(self, kind: str, package: str, serves: Callable[[OpSpec], bool],
                 refusal: str) -> None:
        self.kind = kind            # "executor", "route"
        self.package = package      # where group modules live: "agent/ops"
        self.serves = serves
        self.refusal = refusal      # "an op that agents execute"
        self.fns: dict[str, F] = {}

    def register(self, op: str) -> Callable[[F], F]:
        spec = OPS.get(op)
        if spec is None or not self.serves(spec):
            raise ValueError(f"{op!r} is not {self.refusal}")

        def add(fn: F) -> F:
            group = fn.__module__.rsplit(".", 1)[-1]
            if group != spec.group:
                raise ValueError(f"{op} belongs to group {spec.group!r}: its {self.kind} goes in "
                                 f"{self.package}/{spec.group}.py, not {fn.__module__}")
            if op in self.fns:
                raise ValueError(f"{op} has two {self.kind}s: "
                                 f"{getattr(self.fns[op], '__qualname__', '?')} and "
                                 f"{getattr(fn, '__qualname__', '?')}")
            self.fns[op] = fn
            return fn

        return add
