"""The registry of agents: identity, capacity, load, liveness. Pure: the clock is passed in."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from coordinator.server.objects import AccountRec
from coordinator.server.placement import AgentLoad, free_slots
from proto import ProtoError, limits, sip_addresses


class Counts(Protocol):
    """How many calls and accounts each agent holds (``ObjectTable`` knows)."""

    def calls_at(self, agent: str) -> int: ...

    def accounts_at(self, agent: str) -> int: ...

#: the health figures of an agent's heartbeat that lib.agents shows (PROTOCOL.md section 9)
HEALTH_FIELDS = ("bridge_used", "bridge_max", "bridge_leaked", "sockets", "sockets_leaked",
                 "fds", "rss_kb", "wakeups", "woken")
#: how long an agent that said goodbye to recycle stays listed (as recycling) without a hello
RECYCLE_LISTED_S = 30.0

#: extra silence allowed to an agent that said it is shutting down (agent.bye "leaving"): it
#: hangs up its calls and destroys its Endpoint without a heartbeat; it must be gone within 10 s
LEAVING_GRACE_S = 10.0


@dataclass
class AgentRecord:
    name: str
    rid: bytes
    host: str
    pid: int
    sip: list[str]
    capacity: int
    pjsip: str
    last_seen: float
    sockets_free: int = 48
    alive: bool = True
    max_accounts: int = 8
    #: admitted but still dropping what it held before it was declared lost (hello ``reset``)
    resetting: bool = False
    #: said ``agent.bye`` (shutting down): nothing more is placed on it
    leaving: bool = False
    #: why it drains before it restarts itself ("" : it does not; agent.draining)
    draining: str = ""
    #: said goodbye to restart itself in place: listed as recycling until its new hello
    recycling: bool = False
    #: the health figures of its last heartbeat (bridge ports, sockets, descriptors, memory)
    health: dict[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Alive and taking new accounts and calls."""
        return self.alive and not self.resetting and not self.leaving and not self.draining

    @property
    def state(self) -> str:
        if not self.alive:
            return "recycling" if self.recycling else "lost"
        return ("resetting" if self.resetting else "leaving" if self.leaving
                else "draining" if self.draining else "ready")

    def load(self, counts: Counts) -> AgentLoad:
        """What placement needs: the agent's calls and accounts come from the object table."""
        return AgentLoad(self.name, self.capacity, counts.calls_at(self.name), self.sockets_free,
                         counts.accounts_at(self.name), self.ready, self.max_accounts)

    def free_slots(self, calls: int) -> int:
        """Calls it can still take holding ``calls``, as ``AgentLoad.free_slots`` counts them
        (call slots and socket budget), without building the load."""
        return free_slots(self.ready, self.capacity, calls, self.sockets_free)

    def sip_hostport(self) -> str:
        """host:port of the first SIP transport, for contact URIs."""
        first = self.sip[0] if self.sip else "udp:127.0.0.1:5060"
        return first.split(":", 1)[1]

    def public(self, counts: Counts) -> dict[str, Any]:
        """What lib.agents shows (``health`` holds only HEALTH_FIELDS, in their order). The
        figures placement uses are computed as ``load`` computes them, without building it:
        lib.agents lists every agent."""
        calls = counts.calls_at(self.name)
        free = self.free_slots(calls)
        return {"name": self.name, "host": self.host, "pid": self.pid, "sip": self.sip,
                "capacity": self.capacity, "calls": calls, "free": free,
                "sockets_free": self.sockets_free, "accounts": counts.accounts_at(self.name),
                "max_accounts": self.max_accounts,
                "pjsip": self.pjsip, "alive": self.alive, "state": self.state, **self.health}


@dataclass
class Registry:
    lost_after_s: float = limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES
    by_name: dict[str, AgentRecord] = field(default_factory=dict)
    by_rid: dict[bytes, AgentRecord] = field(default_factory=dict)
    #: every name ever admitted, sorted (lib.agents pages by name)
    names: list[str] = field(default_factory=list)

    def admit(self, rid: bytes, hello: dict[str, Any], now: float) -> AgentRecord:
        """Admit an agent from its hello; a live agent with the same name elsewhere is refused."""
        name = hello["name"]
        old = self.by_name.get(name)
        if old is not None and old.alive and old.rid != rid:
            raise ProtoError("E_DUPLICATE", f"agent name {name!r} is taken by a live agent",
                             obj=name, op="agent.hello")
        if old is not None:
            self.by_rid.pop(old.rid, None)
        rec = AgentRecord(name=name, rid=rid, host=hello["host"], pid=hello["pid"],
                          sip=[str(s) for s in hello["sip"]], capacity=hello["capacity"],
                          pjsip=hello["pjsip"], last_seen=now,
                          max_accounts=8 if hello.get("max_accounts") is None
                          else hello["max_accounts"])
        if old is None:
            bisect.insort(self.names, name)
        self.by_name[name] = rec
        self.by_rid[rid] = rec
        return rec

    def heartbeat(self, rid: bytes, load: dict[str, Any], now: float) -> AgentRecord | None:
        rec = self.by_rid.get(rid)
        if rec is None or not rec.alive:
            return None
        rec.last_seen = now
        sf = load.get("sockets_free")
        if isinstance(sf, int) and not isinstance(sf, bool):
            rec.sockets_free = sf
        rec.health = {k: v for k in HEALTH_FIELDS
                      if isinstance(v := load.get(k), int) and not isinstance(v, bool) and v >= 0}
        return rec

    def seen(self, rid: bytes, now: float) -> AgentRecord | None:
        """Any message from an agent proves it alive."""
        rec = self.by_rid.get(rid)
        if rec is not None and rec.alive:
            rec.last_seen = now
        return rec if rec is not None and rec.alive else None

    def expire(self, now: float) -> list[AgentRecord]:
        """Mark agents silent for too long as lost; returns the newly lost ones."""
        lost = [r for r in self.by_name.values() if r.alive and now - r.last_seen
                > self.lost_after_s + (LEAVING_GRACE_S if r.leaving else 0.0)]
        for rec in lost:
            rec.alive = False
            self.by_rid.pop(rec.rid, None)
        return lost

    def live(self) -> list[AgentRecord]:
        return [r for r in self.by_name.values() if r.alive]

    def contact(self, acc: AccountRec) -> str:
        """A URI that reaches the account at its home agent's SIP address (on the account's
        transport, when it is bound to one)."""
        bare = acc.uri.rsplit("<", 1)[-1].rstrip(">").strip()
        user = bare.split(":", 1)[1].split("@", 1)[0] if "@" in bare else ""
        agent = self.by_name.get(acc.home)
        return sip_addresses.contact(
            user, sip_addresses.find(agent.sip, acc.sip.get("transport", "")) if agent else None)

    def recycled(self, rec: AgentRecord, now: float) -> None:
        """``rec`` said goodbye to restart itself: listed as recycling for a while."""
        rec.recycling = True
        rec.last_seen = now

    @staticmethod
    def _listed(rec: AgentRecord, now: float) -> bool:
        """Whether lib.agents shows it: live, or recycling (not for too long)."""
        return rec.alive or (rec.recycling and now - rec.last_seen <= RECYCLE_LISTED_S)

    def listed(self, now: float) -> list[AgentRecord]:
        """What lib.agents shows, in name order."""
        return [rec for name in self.names if self._listed(rec := self.by_name[name], now)]

    def count_listed(self, now: float) -> int:
        """How many agents lib.agents shows in all."""
        return len(self.listed(now))

    def page(self, now: float, after: str, limit: int) -> tuple[list[AgentRecord], bool]:
        """Up to ``limit`` agents lib.agents shows whose names sort after ``after``, in name
        order, and whether more follow: a page costs its own agents, not the fleet's."""
        out: list[AgentRecord] = []
        for name in itertools.islice(self.names, bisect.bisect_right(self.names, after), None):
            if self._listed(rec := self.by_name[name], now):
                if len(out) == limit:
                    return out, True
                out.append(rec)
        return out, False

    def loads(self, counts: Counts) -> list[AgentLoad]:
        return [r.load(counts) for r in self.by_name.values() if r.alive]
