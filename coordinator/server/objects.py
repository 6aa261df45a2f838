"""Global object ids and the desired state of accounts and calls (pure).

The table owns what is derived from it: how many calls, and how many accounts (replicas, the
home, and creations in flight), each agent holds. Both are kept in indexes that change only
through the table's methods (its ``accounts`` and ``calls`` are read-only views; an account's
``home``, ``replicas`` and ``pending`` change through :meth:`ObjectTable.hold`), so placement
reads them in constant time and no count is ever kept by hand elsewhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from proto import ProtoError


@dataclass
class AccountRec:
    gid: str
    owner: bytes
    uri: str
    auto_answer: int | None
    #: the agent it registers from and whose contact reaches it ("" : none yet)
    home: str = ""
    #: the agents that hold it
    replicas: frozenset[str] = frozenset()
    #: agents an acc.create of it is in flight to (a creation, a replica, a move)
    pending: frozenset[str] = frozenset()
    #: registrar, credentials and proxy (the ACC_SIP fields of acc.create); never reported back
    sip: dict[str, Any] = field(default_factory=dict, repr=False)
    #: decisions taken inside agents' callbacks (the ACC_POLICY fields): transfer, ...
    policy: dict[str, Any] = field(default_factory=dict)
    #: its buddies: buddy id -> {uri, subscribe} (they live on the home agent, and are made
    #: again on a new home when the account moves)
    buddies: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: created on every agent (acc.create replicas="all"): each registers, calls go round robin
    everywhere: bool = False
    #: the round robin's next turn
    turn: int = 0
    #: the seq of the last event about the account (the coordinator numbers them)
    seq: int = 0
    #: it outlives its owner's lease (acc.create ``persistent``; PROTOCOL.md section 10)
    persistent: bool = False

    @property
    def holders(self) -> frozenset[str]:
        """The agents whose account slots it takes: its replicas (the home among them once
        created) and creations in flight. A home that is not a replica was lost (the account
        waits for a new one): it takes no slot, not even on a replacement of the same name."""
        return self.replicas | self.pending

    def cfg(self) -> dict[str, Any]:
        """The settings an agent needs to create a replica."""
        cfg: dict[str, Any] = {"uri": self.uri, **self.sip, **self.policy}
        if self.auto_answer is not None:
            cfg["auto_answer"] = self.auto_answer
        return cfg

    def create_args(self, owner: dict[str, str], home: bool) -> dict[str, Any]:
        """The acc.create an agent gets: the settings, the id, and what the agent keeps for a
        restarted coordinator (``owner``: see ``Access.owner_args``; ``home``)."""
        args = dict(self.cfg(), acc=self.gid, **owner, home=home)
        if self.everywhere:
            args["replicas"] = "all"
        if self.persistent:
            args["persistent"] = True
        return args


@dataclass
class CallRec:
    gid: str
    owner: bytes
    agent: str
    acc: str
    state: str = "NULL"
    last_seq: int = 0
    #: it outlives its owner's lease (call.make ``persistent``; an incoming call, one its
    #: account's persistence)
    persistent: bool = False


@dataclass
class MediaRec:
    """A media object (player, recorder, tone generator): its id is issued by its agent."""

    gid: str
    owner: bytes
    agent: str
    #: it outlives its owner's lease (media.create_* ``persistent``)
    persistent: bool = False


@dataclass
class ObjectTable:
    _accounts: dict[str, AccountRec] = field(default_factory=dict)
    _calls: dict[str, CallRec] = field(default_factory=dict)
    media: dict[str, MediaRec] = field(default_factory=dict)
    #: the number of the next id this coordinator issues (a1, c2, b3, ... share it)
    next_n: int = 1
    _calls_at: Counter[str] = field(default_factory=Counter)
    _accounts_at: Counter[str] = field(default_factory=Counter)
    #: told the name of each agent whose call or account count changes (the capacity index)
    on_change: Callable[[str], None] = field(default=lambda name: None, repr=False)

    @property
    def accounts(self) -> Mapping[str, AccountRec]:
        return MappingProxyType(self._accounts)

    @property
    def calls(self) -> Mapping[str, CallRec]:
        return MappingProxyType(self._calls)

    # -- the indexes: changed only here ---------------------------------------------------
    def add_call(self, rec: CallRec) -> None:
        self.drop_call(rec.gid)
        self._calls[rec.gid] = rec
        self._calls_at[rec.agent] += 1
        self.on_change(rec.agent)

    def drop_call(self, gid: str) -> CallRec | None:
        rec = self._calls.pop(gid, None)
        if rec is not None:
            self._count(self._calls_at, (rec.agent,), -1)
        return rec

    def add_account(self, rec: AccountRec) -> None:
        self.drop_account(rec.gid)
        self._accounts[rec.gid] = rec
        self._count(self._accounts_at, rec.holders, +1)

    def drop_account(self, gid: str) -> AccountRec | None:
        rec = self._accounts.pop(gid, None)
        if rec is not None:
            self._count(self._accounts_at, rec.holders, -1)
        return rec

    def hold(self, acc: AccountRec, *, home: str | None = None, add: Iterable[str] = (),
             drop: Iterable[str] = (), reserve: Iterable[str] = (),
             release: Iterable[str] = ()) -> None:
        """Change where ``acc`` lives: its ``home``, replicas added or dropped, creations in
        flight reserved or released. The per-agent account counts follow."""
        before = acc.holders if acc.gid in self._accounts else frozenset()
        if home is not None:
            acc.home = home
        acc.replicas = (acc.replicas | frozenset(add)) - frozenset(drop)
        acc.pending = (acc.pending | frozenset(reserve)) - frozenset(release)
        if acc.gid in self._accounts:
            after = acc.holders
            self._count(self._accounts_at, before - after, -1)
            self._count(self._accounts_at, after - before, +1)

    def _count(self, counts: Counter[str], agents: Iterable[str], delta: int) -> None:
        for name in agents:
            counts[name] += delta
            if counts[name] <= 0:
                del counts[name]
            self.on_change(name)

    def calls_at(self, agent: str) -> int:
        """Calls the agent holds (placed and not yet ended)."""
        return self._calls_at[agent]

    def accounts_at(self, agent: str) -> int:
        """Account slots of the agent taken: replicas, homes, creations in flight."""
        return self._accounts_at[agent]

    def skip_ids(self, past: int) -> None:
        """Issue no id numbered ``past`` or lower (ids a restarted coordinator adopted, or that
        its agents saw: no id is used twice)."""
        self.next_n = max(self.next_n, past + 1)

    def new_id(self, prefix: str, chosen: str | None) -> str:
        """A fresh id, or the client's pre-chosen one when it is free."""
        if chosen:
            if chosen in self._accounts or chosen in self._calls:
                raise ProtoError("E_DUPLICATE", f"object id {chosen!r} is in use", obj=chosen)
            return chosen
        while True:
            gid = f"{prefix}{self.next_n}"
            self.next_n += 1
            if gid not in self._accounts and gid not in self._calls:
                return gid

    def account(self, gid: str, op: str) -> AccountRec:
        rec = self.accounts.get(gid)
        if rec is None:
            raise ProtoError("E_NOT_FOUND", f"no account {gid!r}", obj=gid, op=op)
        return rec

    def call(self, gid: str, op: str) -> CallRec:
        rec = self.calls.get(gid)
        if rec is None:
            raise ProtoError("E_NOT_FOUND", f"no live call {gid!r}", obj=gid, op=op)
        return rec

    def drop_media_on(self, agent: str) -> None:
        """Forget the media objects of an agent that is gone (they went with it)."""
        for gid in [m.gid for m in self.media.values() if m.agent == agent]:
            del self.media[gid]

    def new_buddy_id(self) -> str:
        """A fresh buddy id, unused by any account, call or buddy."""
        while True:
            gid = self.new_id("b", None)
            if not any(gid in acc.buddies for acc in self.accounts.values()):
                return gid

    def buddy(self, gid: str, op: str) -> AccountRec:
        """The account that has buddy ``gid``."""
        for acc in self.accounts.values():
            if gid in acc.buddies:
                return acc
        raise ProtoError("E_NOT_FOUND", f"no buddy {gid!r}", obj=gid, op=op)

    def calls_on(self, agent: str) -> list[CallRec]:
        return [c for c in self.calls.values() if c.agent == agent]

    def accounts_on(self, agent: str) -> list[AccountRec]:
        return [a for a in self.accounts.values() if agent in a.replicas or a.home == agent]

    def shapes(self) -> dict[str, tuple[int, int]]:
        """Every agent's (calls, accounts) counted afresh from the objects: what the indexes
        must always say (a test checks it)."""
        calls = Counter(c.agent for c in self._calls.values())
        accounts = Counter(a for rec in self._accounts.values() for a in rec.holders)
        return {name: (calls[name], accounts[name]) for name in set(calls) | set(accounts)}
