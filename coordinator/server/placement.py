"""Where new accounts and calls go. Pure: no sockets, no clock; exhaustively unit-tested."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

#: sockets one call takes in an agent (RTP + RTCP)
SOCKETS_PER_CALL = 2


def free_slots(ready: bool, capacity: int, calls: int, sockets_free: int) -> int:
    """Calls an agent can still take: none unless ready, else bounded by its call slots and by
    its socket budget. The one rule: the capacity index and the scan must agree on it."""
    if not ready:
        return 0
    return max(0, min(capacity - calls, sockets_free // SOCKETS_PER_CALL))


@dataclass(frozen=True)
class AgentLoad:
    """What placement needs to know of one agent."""

    name: str
    capacity: int
    calls: int
    sockets_free: int
    accounts: int = 0
    alive: bool = True
    max_accounts: int = 8

    @property
    def account_room(self) -> bool:
        """Whether one more account (or account replica) fits."""
        return self.alive and self.accounts < self.max_accounts

    @property
    def free_slots(self) -> int:
        """Calls the agent can still take: bounded by call slots and by its socket budget."""
        return free_slots(self.alive, self.capacity, self.calls, self.sockets_free)


def place_account(agents: Sequence[AgentLoad], exclude: Collection[str] = ()) -> str | None:
    """The live agent with account room holding the fewest accounts (then most free slots, then
    name). None: no agent can take an account."""
    live = [a for a in agents if a.account_room and a.name not in exclude]
    if not live:
        return None
    return min(live, key=lambda a: (a.accounts, -a.free_slots, a.name)).name


def place_call(agents: Sequence[AgentLoad], home: str | None = None,
               replicas: Collection[str] = (), exclude: Collection[str] = ()) -> str | None:
    """An agent with a free slot for a call from an account.

    The account's home agent first (calls stay beside the account's contact), then the
    replica with most free slots, then any agent with most free slots and account room (a
    replica is made there). Ties go to the lower name, so placement is deterministic. None: the
    fleet is full.
    """
    free = [a for a in agents if a.free_slots > 0 and a.name not in exclude
            and (a.name == home or a.name in replicas or a.account_room)]
    if not free:
        return None
    for a in free:
        if a.name == home:
            return a.name
    best = sorted(free, key=lambda a: (a.name not in replicas, -a.free_slots, a.name))
    return best[0].name
