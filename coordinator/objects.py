"""Global object ids and the desired state of accounts and calls (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from proto import ProtoError


@dataclass
class AccountRec:
    gid: str
    owner: bytes
    uri: str
    auto_answer: int | None
    home: str
    replicas: set[str] = field(default_factory=set)
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
    #: agents an acc.create of this account is in flight to (coordinator.replicas)
    replicating: set[str] = field(default_factory=set)
    #: the seq of the last event about the account (the coordinator numbers them)
    seq: int = 0

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
        return args


@dataclass
class CallRec:
    gid: str
    owner: bytes
    agent: str
    acc: str
    state: str = "NULL"
    last_seq: int = 0


@dataclass
class MediaRec:
    """A media object (player, recorder, tone generator): its id is issued by its agent."""

    gid: str
    owner: bytes
    agent: str


@dataclass
class ObjectTable:
    accounts: dict[str, AccountRec] = field(default_factory=dict)
    calls: dict[str, CallRec] = field(default_factory=dict)
    media: dict[str, MediaRec] = field(default_factory=dict)
    #: the number of the next id this coordinator issues (a1, c2, b3, ... share it)
    next_n: int = 1

    def skip_ids(self, past: int) -> None:
        """Issue no id numbered ``past`` or lower (ids a restarted coordinator adopted, or that
        its agents saw: no id is used twice)."""
        self.next_n = max(self.next_n, past + 1)

    def new_id(self, prefix: str, chosen: str | None) -> str:
        """A fresh id, or the client's pre-chosen one when it is free."""
        if chosen:
            if chosen in self.accounts or chosen in self.calls:
                raise ProtoError("E_DUPLICATE", f"object id {chosen!r} is in use", obj=chosen)
            return chosen
        while True:
            gid = f"{prefix}{self.next_n}"
            self.next_n += 1
            if gid not in self.accounts and gid not in self.calls:
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
