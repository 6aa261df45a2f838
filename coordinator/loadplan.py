"""Splitting a load run over agents (pure; unit-tested).

Every agent gets a share of the rate, of the call count and of the concurrency, in proportion
to its calling slots. In a self-answering run, each agent keeps half of its call slots for
calls it places and half for calls it answers, and calls the answering account of the next
agent in the ring: no agent is ever offered more calls than it has slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from proto import ProtoError
from proto.dist import parse_codes, parse_dist
from proto.ops import DTMF_DIGITS
from proto.schema import check_uri


@dataclass(frozen=True)
class Seat:
    """What the planner needs of one agent."""

    name: str
    capacity: int
    hostport: str


@dataclass(frozen=True)
class Profile:
    rate: float
    ramp: float = 0.0
    calls: int = 0
    duration: float = 0.0
    max_concurrent: int = 0
    hold: str = "1"
    targets: tuple[str, ...] = ()
    self_answer: bool = False
    answer_delay: float = 0.0
    answer_codes: str = "200"
    hangup: str = "caller"
    agents: int = 0
    dtmf: str = ""
    dtmf_method: str = "rfc2833"


def parse_profile(args: dict[str, Any]) -> Profile:
    """A Profile from validated load.start arguments; raises E_BAD_ARGS on what the field
    checks cannot see (an unbounded run, bad distributions, no callee)."""
    targets = args.get("targets") or []
    for t in targets:
        if not isinstance(t, str):
            raise ProtoError("E_BAD_ARGS", "targets must be SIP URIs", op="load.start")
        check_uri(t, "load.start: target")
    p = Profile(rate=float(args["rate"]), ramp=float(args.get("ramp") or 0.0),
                calls=int(args.get("calls") or 0), duration=float(args.get("duration") or 0.0),
                max_concurrent=int(args.get("max_concurrent") or 0),
                hold=str(args.get("hold") or "1"), targets=tuple(targets),
                self_answer=bool(args.get("self")), answer_delay=float(args.get("answer_delay") or 0),
                answer_codes=str(args.get("answer_codes") or "200"),
                hangup=str(args.get("hangup") or "caller"), agents=int(args.get("agents") or 0),
                dtmf=str(args.get("dtmf") or "").upper(),
                dtmf_method=str(args.get("dtmf_method") or "rfc2833"))
    if set(p.dtmf) - set(DTMF_DIGITS):
        raise ProtoError("E_BAD_ARGS", f"not DTMF digits: {p.dtmf!r}", op="load.start")
    if p.calls == 0 and p.duration == 0:
        raise ProtoError("E_BAD_ARGS", "a run needs calls > 0 or duration > 0", op="load.start")
    if p.self_answer == bool(p.targets):
        raise ProtoError("E_BAD_ARGS", "give either targets or self", op="load.start")
    parse_dist(p.hold)
    parse_codes(p.answer_codes)
    return p


def _split(total: float, weights: list[int]) -> list[float]:
    w = sum(weights)
    return [total * x / w for x in weights] if w else [0.0 for _ in weights]


def _split_int(total: int, weights: list[int]) -> list[int]:
    """Largest-remainder split of an integer: the parts add up to ``total`` exactly."""
    exact = _split(float(total), weights)
    parts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def plan(profile: Profile, seats: list[Seat], run: str) -> dict[str, dict[str, Any]]:
    """The load.agent_start arguments of each agent taking part, by agent name."""
    if not seats:
        raise ProtoError("E_NO_AGENT", "no agent can take part in the run", op="load.start")
    seats = sorted(seats, key=lambda s: s.name)
    if profile.agents:
        seats = seats[: profile.agents]
    n = len(seats)
    slots = [max(1, s.capacity // 2) if profile.self_answer else s.capacity for s in seats]
    if profile.max_concurrent:
        limit = _split_int(max(profile.max_concurrent, n), slots)
        slots = [min(s, max(1, x)) for s, x in zip(slots, limit, strict=True)]
    rates = _split(profile.rate, slots)
    quotas = _split_int(profile.calls, slots) if profile.calls else [0] * n
    out: dict[str, dict[str, Any]] = {}
    for i, seat in enumerate(seats):
        args: dict[str, Any] = {"run": run}
        if not (profile.calls and quotas[i] == 0):
            targets = list(profile.targets) or [f"sip:{run}-ans@{seats[(i + 1) % n].hostport}"]
            args["caller"] = {"uri": f"sip:{run}-call@{seat.hostport}", "rate": rates[i],
                              "calls": quotas[i], "duration": profile.duration,
                              "ramp": profile.ramp, "slots": slots[i], "hold": profile.hold,
                              "hangup": profile.hangup, "targets": targets,
                              "dtmf": profile.dtmf, "dtmf_method": profile.dtmf_method}
        if profile.self_answer:
            args["answer"] = {"uri": f"sip:{run}-ans@{seat.hostport}",
                              "delay": profile.answer_delay, "codes": profile.answer_codes,
                              "dtmf": profile.dtmf,
                              "hold": profile.hold, "hangup": profile.hangup}
        out[seat.name] = args
    return out
