"""Accounts that live on every agent (``acc.create`` with ``replicas="all"``): the account is
created, and registers, on each ready agent, so that its AOR has one contact per agent at the
registrar (an incoming call forks to all of them), and its outgoing calls go round robin over
those agents."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

import proto
from coordinator.server.objects import AccountRec
from coordinator.server.placement import AgentLoad
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


def place_spread(agents: Sequence[AgentLoad], replicas: Collection[str], turn: int,
                 exclude: Collection[str] = ()) -> str | None:
    """The ``turn``-th (round robin, by name) of the replicas that have a free call slot; None:
    every replica is busy. Pure."""
    names = sorted(a.name for a in agents
                   if a.name in replicas and a.free_slots > 0 and a.name not in exclude)
    return names[turn % len(names)] if names else None


def fill_new_agents(server: Coordinator) -> None:
    """Give every account that lives on every agent a replica on the ready agents it lacks
    (admitted after it was created, or back after a loss)."""
    everywhere = [acc for acc in server.objects.accounts.values()
                  if acc.everywhere and acc.replicas]
    if not everywhere:  # the common case: no list of the fleet is built
        return
    ready = {r.name for r in server.registry.live() if r.ready}
    for acc in everywhere:
        if ready - acc.replicas - acc.pending:
            replicate_everywhere(server, acc, lambda: None)


def replicate_everywhere(server: Coordinator, acc: AccountRec, done: Callable[[], None]) -> None:
    """Create ``acc`` on every other ready agent with account room (each registers it when it has
    a registrar); ``done()`` once every agent answered. An agent that fails is left out."""
    targets = [r for r in server.registry.live() if r.ready and r.name not in acc.replicas
               and r.name not in acc.pending
               and server.counts.accounts_at(r.name) < r.max_accounts]
    waiting = {r.name for r in targets}
    server.objects.hold(acc, reserve=waiting)
    args = acc.create_args(server.access.owner_args(acc.owner), home=False)
    request = proto.req("acc.create", args, f"replicate-{acc.gid}")

    def answered(name: str, rep: proto.Message) -> None:
        waiting.discard(name)
        agent = server.registry.by_name.get(name)
        kept = rep.ok and acc.gid in server.objects.accounts
        server.objects.hold(acc, release={name}, add={name} if kept else ())
        if rep.ok and not kept and agent is not None and agent.alive:  # deleted meanwhile: undo
            server.pipeline.forward(None, proto.req("acc.delete", {"acc": acc.gid}, f"undo-{acc.gid}"),
                                    agent, {"acc": acc.gid}, lambda rep: None)
        if not waiting:
            done()

    if not targets:
        done()
    for rec in targets:
        try:
            server.pipeline.forward(None, request, rec, args, functools.partial(answered, rec.name))
        except ProtoError as exc:
            answered(rec.name, proto.error(request, exc))
