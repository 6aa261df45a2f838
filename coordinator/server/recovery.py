"""Accounts whose home agent went away (lost, or shut down) get a new home.

The coordinator keeps each account's desired state (``AccountRec``: URI, auto-answer, SIP
settings). When the home agent is lost or says ``agent.bye``, the account becomes *homeless*;
the coordinator then either promotes a live replica to home (an account without a registrar:
nothing to redo), or creates the account afresh on the agent that placement picks (an account
with a registrar registers from there). Once settled, the owner (and subscribers, and PUB) get
an ``acc.moved`` event with the new agent and contact. An account no agent can take stays
homeless and is tried again every ``RETRY_S`` (e.g. once a replacement agent is admitted).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import proto
from coordinator.server.objects import AccountRec
from coordinator.server.placement import place_account
from coordinator.server.replicas import fill_new_agents
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")

#: seconds between attempts to place the accounts still homeless
RETRY_S = 1.0
#: failed re-creations (not for lack of room) after which an account is given up and logged
MAX_FAILURES = 5


class Recovery:
    def __init__(self) -> None:
        #: account id -> why it lost its home (worker_lost | shutdown)
        self.homeless: dict[str, str] = {}
        #: account id -> the agent an acc.create is in flight to
        self.moving: dict[str, str] = {}
        self.failures: dict[str, int] = {}
        self.moved = 0
        self._next_try = 0.0

    def agent_gone(self, server: Coordinator, name: str, reason: str) -> None:
        """``name`` holds nothing any more (lost, or leaving): drop it as a replica, re-home the
        accounts it was home to."""
        for acc in list(server.objects.accounts.values()):
            server.objects.hold(acc, drop={name})
            if acc.home == name and acc.gid not in self.homeless:
                self.homeless[acc.gid] = reason
        self.place(server)

    def tick(self, server: Coordinator, now: float) -> None:
        if now >= self._next_try:
            self._next_try = now + RETRY_S
            if self.homeless:
                self.place(server)
            fill_new_agents(server)  # accounts on every agent reach agents admitted since

    def place(self, server: Coordinator) -> None:
        for gid in list(self.homeless):
            if gid in self.moving:
                continue
            acc = server.objects.accounts.get(gid)
            if acc is None:  # deleted meanwhile
                self._forget(gid)
                continue
            self._move(server, acc)

    def _forget(self, gid: str) -> None:
        self.homeless.pop(gid, None)
        self.moving.pop(gid, None)
        self.failures.pop(gid, None)

    def _move(self, server: Coordinator, acc: AccountRec) -> None:
        registering = bool(acc.sip.get("registrar"))
        ready = {r.name: r for r in server.registry.live() if r.ready}
        replicas = [ready[n] for n in sorted(acc.replicas) if n in ready]
        if replicas and (not registering or acc.everywhere):  # (those register already)
            best = max(replicas, key=lambda r: (r.load(server.counts).free_slots, r.name))
            self._settle(server, acc, best.name)
            return
        # a registering account needs an agent that registers it: not a replica made for calls
        name = place_account(server.registry.loads(server.counts), acc.replicas if registering else ())
        if name is None:
            return  # no room anywhere now: tried again later
        agent = server.registry.by_name[name]
        server.objects.hold(acc, reserve={name})
        self.moving[acc.gid] = name
        args = acc.create_args(server.access.owner_args(acc.owner), home=True)
        request = proto.req("acc.create", args, f"rehome-{acc.gid}")
        try:
            server.pipeline.forward(None, request, agent, args,
                       lambda rep: self._created(server, acc.gid, name, rep))
        except ProtoError:
            server.objects.hold(acc, release={name})
            self.moving.pop(acc.gid, None)

    def _created(self, server: Coordinator, gid: str, name: str, rep: proto.Message) -> None:
        self.moving.pop(gid, None)
        acc = server.objects.accounts.get(gid)
        agent = server.registry.by_name.get(name)
        if acc is not None:
            server.objects.hold(acc, release={name})
        if not rep.ok:
            code = (rep.error or {}).get("code")
            if code not in ("E_NO_CAPACITY", "E_WORKER_LOST", "E_TIMEOUT"):
                n = self.failures[gid] = self.failures.get(gid, 0) + 1
                if n >= MAX_FAILURES:
                    log.error("account %s cannot be re-created (%s: %s); given up", gid, code,
                              (rep.error or {}).get("msg"))
                    self._forget(gid)
            return
        if acc is None or gid not in self.homeless:
            # deleted (or settled elsewhere) while the acc.create was in flight: undo it
            if acc is None:
                self._forget(gid)
            if agent is not None and agent.alive:
                server.pipeline.forward(None, proto.req("acc.delete", {"acc": gid}, f"undo-{gid}"),
                                        agent, {"acc": gid}, lambda rep: None)
            return
        self._settle(server, acc, name)

    def _settle(self, server: Coordinator, acc: AccountRec, name: str) -> None:
        old = acc.home
        server.objects.hold(acc, home=name, add={name})
        reason = self.homeless.get(acc.gid, "worker_lost")
        self._forget(acc.gid)
        self.moved += 1
        acc.seq += 1
        ev = proto.evt("acc.moved", acc.gid, acc.seq, {
            "agent": name, "contact": server.registry.contact(acc), "from": old, "reason": reason})
        frame = proto.encode(ev)
        readd_buddies(server, acc)
        server.events.send_frame(acc.owner, frame)
        server.events.publish(ev, frame, acc.owner, acc.gid)


def readd_buddies(server: Coordinator, acc: AccountRec) -> None:
    """The account moved to a new home agent: make its buddies there again (subscribed when
    they were), so that their acc.buddy_state events come from the new home."""
    agent = server.registry.by_name.get(acc.home)
    if agent is None or not agent.alive:
        return
    for gid, buddy in sorted(acc.buddies.items()):
        args = {"acc": acc.gid, "buddy": gid, **buddy}
        try:
            server.pipeline.forward(None, proto.req("acc.add_buddy", args, f"rebuddy-{gid}"), agent,
                                    args, lambda rep: None)
        except ProtoError:
            return  # the agent went away too: the account moves again, and so do its buddies
