"""Splitting a load run over agents (pure; unit-tested).

Every agent gets a share of the rate, of the call count and of the concurrency, in proportion
to its calling slots. In a self-answering run, each agent keeps half of its call slots for
calls it places and half for calls it answers, and calls the answering account of the next
agent in the ring: no agent is ever offered more calls than it has slots. A scenario with a
transferee keeps a slot more per call (the call a transfer makes at the transferred end), one
with a consult step another (the consultation call, at the transferring end).

Calling identities (``callers``) are spread over the agents in the same proportion; an agent
left without one places no calls. With a registrar, every identity (callers first, then one
answering identity per agent when the fleet answers itself) comes from the credentials, in
order, registers there and routes its calls through it; the ring then calls the next agent's
answering identity by its address of record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from proto import ProtoError, scenario
from proto.dist import parse_codes, parse_dist
from proto.ops import DTMF_DIGITS
from proto.ops.load import RUN_SESSION
from proto.schema import check_uri

#: load.start's options of the built-in flow, which a scenario replaces
FLOW_OPTIONS = ("hold", "hangup", "dtmf", "dtmf_method", "answer_delay", "answer_codes")

#: a SIP user name as the credentials may give it (RFC 3261 unreserved and user characters)
_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,64}")


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
    callers: int = 0
    registrar: str = ""
    #: (user, password, domain) of each identity a registrar run uses; never reported
    credentials: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    media: str = "silence"
    #: a self run's SIP front: the callers call the answering identity through it
    front: str = ""
    #: the account call options of every identity (100rel, session timers, SRTP), as a sorted
    #: tuple of (name, value)
    session: tuple[tuple[str, Any], ...] = ()
    #: the name of the run's scenario ("built-in": the flow of the options above)
    scenario: str = "built-in"
    #: the scenario itself (proto.scenario), which the agents' shares carry; not reported
    flow: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: per-call data (proto.scenario.check_data), dealt to the calling agents; reported as
    #: its number of rows
    data: tuple[dict[str, str], ...] = field(default=(), compare=False, repr=False)

    def public(self) -> dict[str, Any]:
        """The profile as reports show it, under load.start's own names (``self``, not
        ``self_answer``): credentials reduced to their count, the scenario to its name (the
        built-in flow's options only when the run follows it)."""
        skip = ("flow", *(() if self.scenario == "built-in" else FLOW_OPTIONS))
        out = {("self" if k == "self_answer" else k): (list(v) if isinstance(v, tuple) else v)
               for k, v in vars(self).items() if k not in skip}
        out["credentials"] = len(self.credentials)
        out["data"] = len(self.data)
        out["session"] = dict(self.session)
        return out


def profile_from_public(public: dict[str, Any]) -> Profile:
    """A Profile from its ``public()`` form (as agents keep it for a restarted coordinator);
    credentials and data are not in it (their counts are). Raises ValueError when it is not one."""
    kw: dict[str, Any] = {}
    public = {("self_answer" if k == "self" else k): v for k, v in public.items()}
    for f in fields(Profile):
        if f.name not in ("credentials", "flow", "data") and f.name in public:
            value = public[f.name]
            if f.name == "session":
                value = tuple(sorted(value.items())) if isinstance(value, dict) else ()
            kw[f.name] = tuple(value) if isinstance(value, list) else value
    try:
        profile = Profile(**kw)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(profile.rate, (int, float)) or isinstance(profile.rate, bool):
        raise ValueError("rate")
    return profile


@dataclass(frozen=True)
class Seat:
    """What the planner needs of one agent."""

    name: str
    capacity: int
    hostport: str
    #: accounts the agent can still create
    free_accounts: int = 8


def registrar_domain(registrar: str) -> str:
    """The host part of a registrar URI: the domain of identities that give none."""
    rest = registrar.split(":", 1)[1] if ":" in registrar else registrar
    rest = rest.split(";", 1)[0].split("@")[-1]
    if rest.startswith("["):
        return rest[: rest.index("]") + 1]
    return rest.split(":", 1)[0]


def _credentials(raw: Any, registrar: str) -> tuple[tuple[str, str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ProtoError("E_BAD_ARGS", "credentials must be a list", op="load.start")
    out = []
    for i, row in enumerate(raw):
        if not (isinstance(row, dict) and isinstance(row.get("user"), str) and row["user"]
                and isinstance(row.get("password"), str)
                and isinstance(row.get("domain", ""), str)):
            raise ProtoError("E_BAD_ARGS", f"credentials[{i}] needs a user and a password "
                             "(strings)", op="load.start")
        if not _USER.fullmatch(row["user"]):
            raise ProtoError("E_BAD_ARGS", f"credentials[{i}]: not a SIP user name",
                             op="load.start")
        domain = row.get("domain") or registrar_domain(registrar)
        check_uri(f"sip:{row['user']}@{domain}", f"load.start: credentials[{i}]")
        out.append((row["user"], row["password"], domain))
    return tuple(out)


def _media(value: str) -> str:
    if value in ("silence", "tone") or (value.startswith("wav:") and len(value) > 4):
        return value
    raise ProtoError("E_BAD_ARGS", f"media must be silence, tone or wav:PATH, not {value!r}",
                     op="load.start")


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
                dtmf_method=str(args.get("dtmf_method") or "rfc2833"),
                callers=int(args.get("callers") or 0), registrar=str(args.get("registrar") or ""),
                media=_media(str(args.get("media") or "silence")),
                front=str(args.get("front") or ""),
                session=tuple(sorted((k, args[k]) for k in RUN_SESSION if args.get(k) is not None)))
    if p.registrar:
        p = replace(p, credentials=_credentials(args.get("credentials"), p.registrar))
        if not p.credentials:
            raise ProtoError("E_BAD_ARGS", "a registrar run needs credentials", op="load.start")
    elif args.get("credentials"):
        raise ProtoError("E_BAD_ARGS", "credentials need a registrar", op="load.start")
    if set(p.dtmf) - set(DTMF_DIGITS):
        raise ProtoError("E_BAD_ARGS", f"not DTMF digits: {p.dtmf!r}", op="load.start")
    if p.calls == 0 and p.duration == 0:
        raise ProtoError("E_BAD_ARGS", "a run needs calls > 0 or duration > 0", op="load.start")
    if p.front and (not p.self_answer or p.registrar):
        raise ProtoError("E_BAD_ARGS", "front is for self runs without a registrar (the "
                         "front reaches the answering identity on any agent)", op="load.start")
    parse_dist(p.hold)
    parse_codes(p.answer_codes)
    if args.get("data") is not None:
        if args.get("scenario") is None:
            raise ProtoError("E_BAD_ARGS", "data: its columns are variables of a scenario's "
                             "steps: give a scenario", op="load.start")
        p = replace(p, data=tuple(_checked(scenario.check_data, args["data"])))
    p = replace(p, **_flow(args, p))
    if p.self_answer == bool(p.targets or p.flow["caller"][0].get("to")):
        raise ProtoError("E_BAD_ARGS", "give either targets or self", op="load.start")
    return p


def _checked(check: Any, raw: Any) -> Any:
    try:
        return check(raw)
    except ProtoError as exc:
        raise ProtoError("E_BAD_ARGS", exc.msg, op="load.start") from None


def _deal(rows: tuple[dict[str, str], ...], k: int, n: int) -> list[dict[str, str]]:
    """The k-th of ``n`` agents' rows: every n-th from the k-th (all of them, should there be
    fewer rows than agents: then the agents share rows)."""
    return list(rows[k::n]) or list(rows)


def _flow(args: dict[str, Any], p: Profile) -> dict[str, Any]:
    """The run's scenario: the one given, or the built-in flow of the options."""
    if args.get("scenario") is None:
        return {"flow": scenario.builtin(p.hold, p.hangup, p.dtmf, p.dtmf_method,
                                         p.answer_codes, p.answer_delay)}
    given = [k for k in FLOW_OPTIONS if args.get(k) is not None]
    if given:
        raise ProtoError("E_BAD_ARGS", f"a scenario replaces {', '.join(given)}: give one or "
                         "the other", op="load.start")
    try:
        flow = scenario.check(args["scenario"], tuple(p.data[0]) if p.data else ())
    except ProtoError as exc:
        raise ProtoError("E_BAD_ARGS", exc.msg, op="load.start") from None
    if (scenario.uses(flow, "expect_tone") and p.media == "silence"
            and not any(scenario.uses(flow, op) for op in ("tone", "play"))):
        raise ProtoError("E_BAD_ARGS", "scenario: expect_tone needs a sound to hear: a tone or "
                         "play step, or media tone or wav:PATH", op="load.start")
    if p.self_answer and flow["caller"][0].get("to"):  # the first mistake to name
        raise ProtoError("E_BAD_ARGS", "scenario: a self run calls its own agents: no 'to' on "
                         "the call step", op="load.start")
    if p.self_answer and not flow["callee"]:
        raise ProtoError("E_BAD_ARGS", "scenario: a self run needs the callee's steps (at "
                         "least an answer)", op="load.start")
    return {"flow": flow, "scenario": flow["name"] or "(unnamed)"}


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


def _identity(cred: tuple[str, str, str]) -> dict[str, str]:
    user, password, domain = cred
    return {"uri": f"sip:{user}@{domain}", "username": user, "password": password}


def _identities(profile: Profile, seats: list[Seat], run: str, callers: list[int]
                ) -> tuple[list[list[dict[str, str]]], list[dict[str, str]]]:
    """Each agent's calling identities and its answering identity."""
    if not profile.registrar:
        calling = [[{"uri": f"sip:{run}-call{j + 1 if j else ''}@{seat.hostport}"}
                    for j in range(k)] for seat, k in zip(seats, callers, strict=True)]
        return calling, [{"uri": f"sip:{run}-ans@{seat.hostport}"} for seat in seats]
    want = sum(callers) + (len(seats) if profile.self_answer else 0)
    if len(profile.credentials) < want:
        raise ProtoError("E_BAD_ARGS", f"the run needs {want} identities (callers"
                         + (", then one answering identity per agent" if profile.self_answer
                            else "") + f"); the credentials hold {len(profile.credentials)}",
                         op="load.start")
    pool = iter(profile.credentials)
    calling = [[_identity(next(pool)) for _ in range(k)] for k in callers]
    answering = [_identity(next(pool)) for _ in seats] if profile.self_answer else []
    return calling, answering


def _through(front: str, run: str) -> str:
    """The answering identity (every agent has it under one user name) at the SIP front."""
    hostport = front.split(":", 1)[1].split(";", 1)[0].split("@")[-1]
    return f"sip:{run}-ans@{hostport}"


def plan(profile: Profile, seats: list[Seat], run: str) -> dict[str, dict[str, Any]]:
    """The load.agent_start arguments of each agent taking part, by agent name."""
    if not seats:
        raise ProtoError("E_NO_AGENT", "no agent can take part in the run", op="load.start")
    seats = sorted(seats, key=lambda s: s.name)
    if profile.agents:
        seats = seats[: profile.agents]
    n = len(seats)
    flow = profile.flow or _flow({}, profile)["flow"]
    # the call slots a call takes on its agents: its caller leg, its callee leg (self runs),
    # the call a transfer makes at the transferred end (scenarios with a transferee) and the
    # consultation call of an attended transfer, at the transferring end
    per_call = (1 + int(profile.self_answer) + int(bool(flow.get("transferee")))
                + int(scenario.uses(flow, "consult")))
    slots = [max(1, s.capacity // per_call) for s in seats]
    if profile.max_concurrent:
        limit = _split_int(max(profile.max_concurrent, n), slots)
        slots = [min(s, max(1, x)) for s, x in zip(slots, limit, strict=True)]
    callers = _split_int(profile.callers, slots) if profile.callers else [1] * n
    for seat, k in zip(seats, callers, strict=True):
        need = k + (1 if profile.self_answer else 0)
        if need > seat.free_accounts:
            raise ProtoError("E_NO_CAPACITY", f"{profile.callers} callers need {need} accounts "
                             f"on agent {seat.name}, which has room for {seat.free_accounts}: "
                             "use fewer callers or more agents", op="load.start")
    weights = [s if k else 0 for s, k in zip(slots, callers, strict=True)]
    quotas = _split_int(profile.calls, weights) if profile.calls else [0] * n
    calls = [bool(callers[i]) and not (profile.calls and quotas[i] == 0) for i in range(n)]
    # each calling agent's rate in proportion to its weight: with its first call k intervals
    # of the whole rate after the first agent's (below), the fleet's calls interleave evenly
    # (in proportion to their calls, agents with one call fewer than others would call more
    # slowly, and the first calls would bunch: 6 calls on 4 agents at 0, 1, 2, 3, 3, 4 s)
    rates = _split(profile.rate, [w if c else 0 for w, c in zip(weights, calls, strict=True)])
    calling, answering = _identities(profile, seats, run, callers)
    common = {"media": profile.media, "registrar": profile.registrar,
              "session": dict(profile.session)}
    if flow.get("transferee"):  # what the end that a REFER reaches does on its new call
        common["transferee"] = flow["transferee"]
    out: dict[str, dict[str, Any]] = {}
    calling_agents = 0
    for i, seat in enumerate(seats):
        args: dict[str, Any] = {"run": run}
        if calls[i]:
            # the k-th calling agent's first call comes k calls of the whole rate after the
            # first agent's: the fleet's calls are evenly spaced from the start
            phase = round(calling_agents / profile.rate, 6)
            calling_agents += 1
            ring = ([_through(profile.front, run)] if profile.front else
                    [answering[(i + 1) % n]["uri"]] if profile.self_answer else [])
            args["caller"] = {"ids": calling[i], "rate": rates[i], "calls": quotas[i],
                              "phase": phase,
                              "duration": profile.duration, "ramp": profile.ramp,
                              "slots": slots[i], "targets": list(profile.targets) or ring,
                              "steps": flow["caller"],
                              **({"data": _deal(profile.data, calling_agents - 1, sum(calls))}
                                 if profile.data else {}),
                              # a self-answering run's calls wait until every agent's answering
                              # account exists (an INVITE to an agent without one gets 480)
                              "wait_go": profile.self_answer, **common}
        if profile.self_answer:
            args["answer"] = {"ids": [answering[i]], "steps": flow["callee"], **common}
        out[seat.name] = args
    return out
