"""A restarted coordinator re-adopts what its agents hold (PROTOCOL.md section 9, Adoption).

A new coordinator knows nothing, but its agents kept, for every object they hold, what a
coordinator needs to own it (``agent.holdings``): owner, settings, home, replicas, buddies, call
state and ``seq``, media objects. Each agent that reconnects says hello with these *holdings*;
the coordinator rebuilds its object table from them instead of telling the agent to reset.

* **The adoption window.** For ``window_s`` after start (``--adopt-window``, default
  ``DEFAULT_WINDOW_S``) the coordinator admits agents and adopts their holdings, and holds client
  requests (at most ``MAX_HELD``; beyond, ``E_ADOPTING``) but ``lib.agents`` and ``lib.status``.
  When the window closes it settles the accounts left without a home (their home agent did not
  come back: moved as after a loss), tells each owner the state of its adopted calls, then
  serves the held requests in arrival order (an expired one gets ``E_EXPIRED``). The replies
  cache starts empty: a request retried across the restart runs again.
* **No duplicate id.** Ids the coordinator issues (``a1``, ``c2``, ``b3``) continue past every
  adopted id and past the highest the agents saw (holdings ``ids``).
* **Conflicts.** An agent whose holdings clash with what is already adopted (an object id held
  elsewhere: a call, a media object, an account with another owner or URI, or a second home for
  an account) is not adopted at all: it is told to reset (the first report wins). An agent that
  this coordinator admitted before (or declared lost) is reset as before: its objects were ended
  or moved. After the window, a late agent is adopted the same way when nothing conflicts.
* **Ownership.** Objects go back to the owner's routing id; under CURVE the owner is the key the
  agent kept (``Access.claim``).
* **Clients.** The owner of each adopted call gets a ``call.state`` event with ``adopted: true``
  carrying the call's current state, numbered as the last event the agent sent about it (so a
  client that saw that event sees the same ``seq`` again, no gap); none when a newer event of the
  call was relayed meanwhile.

The parsing and the conflict check are pure (``parse``, ``conflict``).
"""

from __future__ import annotations

import collections
import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.load.plan import Profile, profile_from_public
from coordinator.server.load.run import LoadRun
from coordinator.server.load.steering import release
from coordinator.server.objects import AccountRec, CallRec, MediaRec
from proto import ProtoError
from proto.ids import id_number
from proto.ops import ACC_POLICY, ACC_SIP, EVENTS
from proto.ops.agent import (
    HOLDING_ACCOUNT,
    HOLDING_BUDDY,
    HOLDING_CALL,
    HOLDING_LOAD,
    HOLDING_MEDIA,
    HOLDINGS,
)
from proto.schema import Field, validate

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator
    from coordinator.server.objects import ObjectTable

log = logging.getLogger("coordinator")

#: seconds a started coordinator waits for agents' holdings before it serves clients. Agents
#: notice a lost coordinator within 3 s (HEARTBEAT_S x HEARTBEAT_MISSES; at once when its
#: connection closes) and repeat their hello every 1 s (HEARTBEAT_S) until admitted: 5 s lets
#: every live agent on loopback report before a client can create anything.
DEFAULT_WINDOW_S = 5.0
#: client requests held during the window; beyond, E_ADOPTING
MAX_HELD = 10000

_SIP = frozenset(f.name for f in ACC_SIP)
_POLICY = frozenset(f.name for f in ACC_POLICY)


@dataclass
class AccountHolding:
    gid: str
    uri: str
    owner: bytes
    owner_key: str
    home: bool
    everywhere: bool
    auto_answer: int | None
    sip: dict[str, Any]
    policy: dict[str, Any]
    buddies: dict[str, dict[str, Any]]
    persistent: bool = False


@dataclass
class CallHolding:
    gid: str
    acc: str
    owner: bytes
    owner_key: str
    seq: int
    data: dict[str, Any]
    persistent: bool = False


@dataclass
class MediaHolding:
    gid: str
    owner: bytes
    owner_key: str
    persistent: bool = False


@dataclass
class LoadHolding:
    """An agent's part of a load run: ``totals`` adds up its first ``reports`` load.stats."""

    run: str
    owner: bytes
    owner_key: str
    profile: Profile
    elapsed: float
    slots: int
    released: bool
    ending: bool
    reports: int
    #: None: no report yet
    totals: dict[str, Any] | None


@dataclass
class Holdings:
    accounts: list[AccountHolding] = field(default_factory=list)
    calls: list[CallHolding] = field(default_factory=list)
    #: calls that ended lately at the agent: their owners may never have heard it
    ended: list[CallHolding] = field(default_factory=list)
    media: list[MediaHolding] = field(default_factory=list)
    loads: list[LoadHolding] = field(default_factory=list)
    ids: int = 0


#: a run id the coordinator issues itself
_RUN_ID = re.compile(r"L([0-9]{1,12})")


class BadHoldings(ValueError):
    """Holdings that cannot be adopted as they are (the agent is reset)."""


def _check(fields: tuple[Field, ...], item: Any, where: str) -> dict[str, Any]:
    """``item`` checked against ``fields`` (the schema requests are checked with)."""
    try:
        checked: dict[str, Any] = validate(fields, item, where)
    except ProtoError as exc:
        raise BadHoldings(exc.msg) from None
    return checked


def _items(fields: tuple[Field, ...], items: Any, where: str) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadHoldings(f"{where} is not a list")
    return [_check(fields, item, where) for item in items]


def _owner(d: dict[str, Any]) -> bytes:
    try:
        return bytes.fromhex(d["owner"])
    except ValueError:
        raise BadHoldings(f"owner: {d['owner']!r}") from None


def parse(h: Any, loads: Any = None) -> Holdings:
    """An agent's holdings (hello ``holdings`` and ``loads``), checked; raises BadHoldings."""
    h = _check(HOLDINGS, h, "holdings")
    out = Holdings(ids=h.get("ids") or 0)
    for a in _items(HOLDING_ACCOUNT, h.get("accounts"), "holdings accounts"):
        buddies = {b["buddy"]: {"uri": b["uri"], "subscribe": bool(b.get("subscribe"))}
                   for b in _items(HOLDING_BUDDY, a.get("buddies"), "holdings buddies")}
        sip, pol = a.get("settings") or {}, a.get("policy") or {}
        out.accounts.append(AccountHolding(
            a["acc"], a["uri"], _owner(a), a.get("owner_key") or "", bool(a.get("home")),
            bool(a.get("everywhere")), a.get("auto_answer"),
            {k: v for k, v in sip.items() if k in _SIP},
            {k: v for k, v in pol.items() if k in _POLICY}, buddies, bool(a.get("persistent"))))
    out.calls = [_call(c) for c in _items(HOLDING_CALL, h.get("calls"), "holdings calls")]
    out.ended = [_call(c) for c in _items(HOLDING_CALL, h.get("ended"), "holdings ended")]
    for m in _items(HOLDING_MEDIA, h.get("media"), "holdings media"):
        out.media.append(MediaHolding(m["media"], _owner(m), m.get("owner_key") or "",
                                      bool(m.get("persistent"))))
    out.loads = [_load(x) for x in (loads if isinstance(loads, list) else [])]
    return out


def _call(c: dict[str, Any]) -> CallHolding:
    data = {k: c.get(k) for k in ("state", "code", "reason", "remote_uri", "call_id", "role")}
    return CallHolding(c["call"], c["acc"], _owner(c), c.get("owner_key") or "", c["seq"],
                       {k: v if v is not None else "" for k, v in data.items()},
                       bool(c.get("persistent")))


#: a load part's map: its own fields and the load.stats fields summed (present once it reported)
_LOAD_PART = HOLDING_LOAD + tuple(replace(f, required=False) for f in EVENTS["load.stats"].data)


def _load(x: Any) -> LoadHolding:
    x = _check(_LOAD_PART, x, "holdings loads")
    stats = EVENTS["load.stats"].data
    try:
        profile = profile_from_public(x.get("profile") or {})
        totals = validate(stats, {f.name: x[f.name] for f in stats if f.name in x},
                          "totals") if x["reports"] else None
    except (ValueError, ProtoError) as exc:
        raise BadHoldings(f"load run {x['run']!r}: {exc}") from None
    return LoadHolding(x["run"], _owner(x), x.get("owner_key") or "", profile,
                       float(x["elapsed"]), x["slots"], bool(x.get("released")),
                       bool(x.get("ending")), x["reports"], totals)


def conflict(objects: ObjectTable, h: Holdings, loads: dict[str, LoadRun] | None = None,
             name: str = "") -> str:
    """Why agent ``name``'s holdings ``h`` cannot be adopted next to what ``objects`` and
    ``loads`` hold ("" : they can). Pure."""
    for part in h.loads:
        run = (loads or {}).get(part.run)
        if run is not None and (run.owner != part.owner or name in run.shares
                                or not run.adopted):
            return f"load run {part.run} is held otherwise"
    seen: set[str] = set()
    for a in h.accounts:
        if a.gid in seen:
            return f"account {a.gid} listed twice"
        seen.add(a.gid)
        have = objects.accounts.get(a.gid)
        if have is None:
            if a.gid in objects.calls:
                return f"account id {a.gid} is a call's"
            continue
        if have.owner != a.owner or have.uri != a.uri:
            return f"account {a.gid} is held with another owner or URI"
        if a.home and have.home and not a.everywhere:
            return f"account {a.gid} already has its home on {have.home}"
    for c in h.calls:
        if c.gid in objects.calls or c.gid in objects.accounts or c.gid in seen:
            return f"call {c.gid} is held elsewhere"
        seen.add(c.gid)
    for m in h.media:
        if m.gid in objects.media or m.gid in seen:
            return f"media object {m.gid} is held elsewhere"
        seen.add(m.gid)
    return ""


class Adoption:
    """The adoption window and what waits for its end."""

    def __init__(self, window_s: float, now: float) -> None:
        self.until = now + window_s
        self.open = window_s > 0
        #: client requests held until the window closes: (routing id, frame)
        self.held: collections.deque[tuple[bytes, bytes]] = collections.deque()
        #: calls adopted while the window was open, announced when it closes: call id -> seq
        self.unannounced: dict[str, int] = {}
        #: the state each adopted call was reported in (call id -> call.state data)
        self.call_data: dict[str, dict[str, Any]] = {}
        self.adopted_agents = 0
        self.adopted_objects = 0

    def left(self, now: float) -> float:
        return max(0.0, self.until - now) if self.open else 0.0

    def hold(self, client: bytes, frame: bytes) -> bool:
        """Keep a request for later; False when MAX_HELD are held already."""
        if len(self.held) >= MAX_HELD:
            return False
        self.held.append((client, frame))
        return True

    def tick(self, server: Coordinator, now: float) -> None:
        if not self.open or now < self.until:
            return
        self.open = False
        server.leases.extend_all(now)  # clients had nobody to renew their leases with
        homeless = [a for a in server.objects.accounts.values() if not a.home]
        for acc in homeless:  # its home agent did not come back: as after a loss
            server.recovery.homeless[acc.gid] = "worker_lost"
        if homeless:
            server.recovery.place(server)
        log.info("adoption window closed: %d agents and %d objects adopted, %d held requests "
                 "served", self.adopted_agents, self.adopted_objects, len(self.held))
        self._announce(server, self.unannounced)
        self.unannounced = {}
        for run in server.loads.values():
            if run.adopted:
                self._go(server, run)
        held, self.held = self.held, collections.deque()
        for client, frame in held:
            server.pipeline.on_client_frame(server, client, frame)

    def adopt(self, server: Coordinator, name: str, h: Holdings) -> None:
        """Take ``h`` (checked by ``conflict``) over from agent ``name``."""
        objects = server.objects
        top = h.ids
        for a in h.accounts:
            acc = objects.accounts.get(a.gid)
            if acc is None:
                acc = AccountRec(a.gid, a.owner, a.uri, a.auto_answer, home="", sip=a.sip,
                                 policy=a.policy, everywhere=a.everywhere)
                objects.add_account(acc)
            home = a.home and not acc.home
            objects.hold(acc, add={name}, home=name if home else None)
            acc.persistent = acc.persistent or a.persistent
            if home:
                acc.sip, acc.policy = a.sip, a.policy
            if a.buddies and (a.home or not acc.buddies):
                acc.buddies = a.buddies
            server.access.claim(a.owner, a.owner_key)
            top = max(top, id_number(a.gid), *(id_number(b) for b in a.buddies))
        fresh: dict[str, int] = {}
        for c in h.calls:
            objects.add_call(CallRec(c.gid, c.owner, name, c.acc, state=c.data["state"],
                                     last_seq=c.seq, persistent=c.persistent))
            self.call_data[c.gid] = c.data
            server.access.claim(c.owner, c.owner_key)
            fresh[c.gid] = c.seq
            top = max(top, id_number(c.gid))
        for m in h.media:
            objects.media[m.gid] = MediaRec(m.gid, m.owner, name, m.persistent)
            server.access.claim(m.owner, m.owner_key)
        objects.skip_ids(top)
        for part in h.loads:
            self._adopt_run(server, name, part)
        self._tell_ended(server, name, h.ended)
        now = server.clock()
        owners = ({a.owner for a in h.accounts} | {c.owner for c in h.calls}
                  | {m.owner for m in h.media} | {p.owner for p in h.loads})
        for owner in owners:
            server.leases.adopt(owner, now)  # a lease from now: its client may come back
        self.adopted_agents += 1
        self.adopted_objects += len(h.accounts) + len(h.calls) + len(h.media) + len(h.loads)
        if self.open:
            self.unannounced.update(fresh)
        else:
            self._announce(server, fresh)

    @staticmethod
    def _adopt_run(server: Coordinator, name: str, part: LoadHolding) -> None:
        """Rebuild a load run from its agents' parts: the report of each counts every call
        since the run started (the totals), then the reports that follow."""
        now = server.clock()
        run = server.loads.get(part.run)
        if run is None:
            run = server.loads[part.run] = LoadRun(part.run, part.owner, part.profile, {},
                                                   now - part.elapsed,
                                                   wall_start=time.time() - part.elapsed)
            run.adopted = True
            run.released = part.released
            server.access.claim(part.owner, part.owner_key)
            m = _RUN_ID.fullmatch(part.run)
            if m:
                server.skip_run_numbers(int(m.group(1)))
        run.started_at = min(run.started_at, now - part.elapsed)
        run.shares[name] = ({"run": part.run, "caller": {"slots": part.slots}} if part.slots
                            else {"run": part.run})
        run.released = run.released or part.released
        run.ending = run.ending or part.ending
        run.counted_upto[name] = part.reports
        if part.totals is not None:
            run.adopt_totals(name, part.totals, now)
        if not server.adoption.open:
            Adoption._go(server, run)

    @staticmethod
    def _go(server: Coordinator, run: LoadRun) -> None:
        """Every agent of an adopted run calls: the restart may have come between the agents'
        load.agent_go (a self-answering run, once every agent had its share; a registrar run,
        once every identity registered: then it is still waited for)."""
        if not run.ending and (run.released or not run.profile.registrar):
            release(server, run)

    @staticmethod
    def _tell_ended(server: Coordinator, name: str, ended: list[CallHolding]) -> None:
        """Calls that ended at the agent while no coordinator could relay it: their owners
        hear their DISCONNECTED now (an owner that heard it already has forgotten the call)."""
        for c in ended:
            if c.gid in server.objects.calls:
                continue  # adopted live elsewhere (an id reused): not ours to end
            ev = proto.evt("call.state", c.gid, c.seq, dict(c.data, agent=name, adopted=True))
            frame = proto.encode(ev)
            server.events.send_frame(c.owner, frame)
            server.events.publish(ev, frame, c.owner, c.acc)

    def _announce(self, server: Coordinator, calls: dict[str, int]) -> None:
        """Each adopted call's state to its owner (and subscribers, PUB), unless a newer event
        of the call was relayed since its agent reported it."""
        for gid, seq in calls.items():
            data = self.call_data.pop(gid, None)
            call = server.objects.calls.get(gid)
            if call is None or data is None or call.last_seq != seq or seq == 0:
                continue
            ev = proto.evt("call.state", gid, seq, dict(data, agent=call.agent, adopted=True))
            frame = proto.encode(ev)
            server.events.send_frame(call.owner, frame)
            server.events.publish(ev, frame, call.owner, call.acc)
