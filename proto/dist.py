"""Parsers for load-run distributions, shared by the coordinator (validation) and the agents
(sampling): hold times (``2``, ``exp:MEAN``, ``uniform:A:B``) and answer-code mixes
(``200`` or ``200:90,486:10``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from proto.errors import ProtoError


@dataclass(frozen=True)
class Dist:
    kind: str
    a: float
    b: float = 0.0

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            return self.a
        if self.kind == "exp":
            return rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return rng.uniform(self.a, self.b)

    @property
    def mean(self) -> float:
        return (self.a + self.b) / 2 if self.kind == "uniform" else self.a


def parse_dist(spec: str) -> Dist:
    """``S`` seconds, ``exp:MEAN`` or ``uniform:A:B`` (all >= 0)."""
    parts = spec.split(":")
    try:
        nums = [float(p) for p in parts[1:]] if len(parts) > 1 else [float(parts[0])]
    except ValueError:
        raise ProtoError("E_BAD_ARGS", f"bad distribution {spec!r}") from None
    if any(n < 0 or n != n or n > 86400 for n in nums):
        raise ProtoError("E_BAD_ARGS", f"distribution {spec!r}: values must be 0..86400")
    if len(parts) == 1:
        return Dist("fixed", nums[0])
    if parts[0] == "exp" and len(nums) == 1:
        return Dist("exp", nums[0])
    if parts[0] == "uniform" and len(nums) == 2 and nums[0] <= nums[1]:
        return Dist("uniform", nums[0], nums[1])
    raise ProtoError("E_BAD_ARGS", f"bad distribution {spec!r}: use S, exp:MEAN or uniform:A:B")


@dataclass(frozen=True)
class CodeMix:
    codes: tuple[int, ...]
    weights: tuple[float, ...]

    def pick(self, rng: random.Random) -> int:
        return rng.choices(self.codes, self.weights)[0] if len(self.codes) > 1 else self.codes[0]


def parse_codes(spec: str) -> CodeMix:
    """``200`` or ``200:90,486:10`` (code:weight, codes 180..699 where 180/183 ring forever)."""
    codes: list[int] = []
    weights: list[float] = []
    try:
        for item in spec.split(","):
            code, _, weight = item.partition(":")
            codes.append(int(code))
            weights.append(float(weight) if weight else 1.0)
    except ValueError:
        raise ProtoError("E_BAD_ARGS", f"bad answer-code mix {spec!r}") from None
    if not codes or any(not 200 <= c <= 699 for c in codes) or any(w <= 0 for w in weights):
        raise ProtoError("E_BAD_ARGS", f"answer-code mix {spec!r}: codes 200..699, weights > 0")
    return CodeMix(tuple(codes), tuple(weights))
