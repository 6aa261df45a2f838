"""What happens when a client's lease runs out (``coordinator.server.leases``): everything the
connection owns is released, but its persistent objects. Its calls are hung up, its accounts
deleted (with their buddies: the agents hang up the accounts' calls too), its media objects
destroyed, its subscriptions dropped, its load runs stopped, the requests it still had waiting
dropped, and what the coordinator kept for it (replies for retries, gap counts) forgotten. Then
a ``client.expired`` event tells the subscriptions and the PUB firehose what was released.

Work already under way for the client (an ``acc.create`` or ``media.create_*`` at an agent)
ends as if the client had deleted the object: the routes undo what an agent made for a client
that no longer holds a lease (``routes.account``, ``routes.media``, ``routes.call``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.leases import Lease
from coordinator.server.load.steering import end_run
from coordinator.server.objects import AccountRec
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")

#: why a run ended when its owner's lease expired (its report's ``end_reason``)
RUN_END_REASON = "its client's lease expired"


def expire(server: Coordinator, conn: bytes, lease: Lease, now: float) -> dict[str, int]:
    """Release what ``conn`` owns (its lease ran out); returns the counts the event carries."""
    counts = {"accounts": 0, "buddies": 0, "calls": 0, "media": 0, "subscriptions": 0,
              "runs": 0, "kept": 0}
    _calls(server, conn, counts)
    _accounts(server, conn, counts)
    _media(server, conn, counts)
    counts["subscriptions"] = len(server.subs.table.by_conn.get(conn, {}))
    server.subs.table.drop_conn(conn)
    for run in list(server.loads.values()):
        if run.owner == conn and not run.ending:
            run.end_reason = RUN_END_REASON
            end_run(server, run, f"expired-{run.run}")
            counts["runs"] += 1
    server.pipeline.forget_client(conn)
    server.delivery.forget(conn)
    if any(counts.values()):
        _announce(server, conn, lease, now, counts)
    return counts


def tell_agent(server: Coordinator, agent_name: str, op: str, args: dict[str, Any]) -> None:
    """``op`` to an agent for the coordinator itself (nobody waits for the reply)."""
    agent = server.registry.by_name.get(agent_name)
    if agent is None or not agent.alive:
        return  # the object went with its agent
    try:
        server.pipeline.forward(None, proto.req(op, args, f"cleanup-{op}"), agent, args,
                                lambda rep: None)
    except ProtoError:
        pass  # unreachable now: it is lost, and its objects with it


def _calls(server: Coordinator, conn: bytes, counts: dict[str, int]) -> None:
    """Hang up the connection's calls; each is forgotten when its DISCONNECTED arrives (its
    slot counts until then)."""
    for call in [c for c in server.objects.calls.values() if c.owner == conn]:
        if call.persistent:
            counts["kept"] += 1
            continue
        tell_agent(server, call.agent, "call.hangup", {"call": call.gid})
        counts["calls"] += 1


def _accounts(server: Coordinator, conn: bytes, counts: dict[str, int]) -> None:
    for acc in [a for a in server.objects.accounts.values() if a.owner == conn]:
        if acc.persistent:
            counts["kept"] += 1
            continue
        delete_account(server, acc)
        counts["accounts"] += 1
        counts["buddies"] += len(acc.buddies)


def delete_account(server: Coordinator, acc: AccountRec) -> None:
    """Forget ``acc`` and delete it on every agent holding it (they hang up its calls first)."""
    server.objects.drop_account(acc.gid)
    for name in sorted(acc.replicas):
        tell_agent(server, name, "acc.delete", {"acc": acc.gid})


def _media(server: Coordinator, conn: bytes, counts: dict[str, int]) -> None:
    for rec in [m for m in server.objects.media.values() if m.owner == conn]:
        if rec.persistent:
            counts["kept"] += 1
            continue
        del server.objects.media[rec.gid]
        tell_agent(server, rec.agent, "media.destroy", {"media": rec.gid})
        counts["media"] += 1


def _announce(server: Coordinator, conn: bytes, lease: Lease, now: float,
              counts: dict[str, int]) -> None:
    server.expiries += 1
    ev = proto.evt("client.expired", "", server.expiries, {
        "client": conn.hex(), "life": lease.life, "key": server.access.users.get(conn, ""),
        "lease": lease.seconds, "idle": round(now - lease.seen, 3), **counts})
    server.events.publish(ev, proto.encode(ev))
    log.info("client %s expired (%.1f s silent): released %s", conn.hex(), now - lease.seen,
             ", ".join(f"{v} {k}" for k, v in counts.items() if v))
