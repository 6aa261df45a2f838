"""The agent's object tables and its outbox of events: what handlers and callbacks share."""

from __future__ import annotations

import collections
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import proto
from agent.admission import Admission
from agent.budget import SocketBudget
from proto.ids import id_number

#: seconds a just-ended call still counts against the call slots: pjsua's own count lags ours
#: (a new INVITE in that window would get 486 from pjsua, a new makeCall PJ_ETOOMANY)
SLOT_RELEASE_GRACE_S = 0.1

if TYPE_CHECKING:
    from agent.bridge import Bridge
    from agent.objects import AgentAccount, AgentCall


#: ended calls an agent remembers, and for how long (seconds): a coordinator that comes back
#: within that time tells their owners that they ended
ENDED_KEPT, ENDED_KEEP_S = 64, 300.0


@dataclass
class AgentState:
    """Everything an agent holds. Object ids are the coordinator's global ids."""

    name: str
    capacity: int
    budget: SocketBudget
    max_accounts: int = 8
    accounts: dict[str, AgentAccount] = field(default_factory=dict)
    calls: dict[str, AgentCall] = field(default_factory=dict)
    #: auto-answered calls that ring first (the account's ``ring`` policy): call id -> (when,
    #: the answer code); agent.ringing answers them from the loop
    ringing: dict[str, tuple[float, int]] = field(default_factory=dict)
    outbox: collections.deque[proto.Message] = field(default_factory=collections.deque)
    #: media objects (agent.media_objects.MediaObject: players, recorders, tone generators), by id
    media: dict[str, Any] = field(default_factory=dict)
    #: load runs this agent takes part in, by run id
    loads: dict[str, Any] = field(default_factory=dict)
    #: set when the agent stops: calls it ends report ``end_reason`` (shutdown, or recycle when
    #: it restarts itself to shed what PJSIP leaked: agent.health)
    shutting_down: bool = False
    end_reason: str = "shutdown"
    #: why the agent drains ("" : it does not): no new call, its calls finish, then it recycles
    draining: str = ""
    #: the Endpoint's conference bridge (agent.bridge; None in unit tests)
    bridge: Bridge | None = None
    #: incoming calls parked until the socket budget allows them (agent.admission)
    admission: Admission = field(default_factory=Admission)
    #: the highest number of a coordinator-issued id (a1, c2, ...) this agent was given: a
    #: restarted coordinator issues none at or below it (agent.holdings)
    ids_seen: int = 0
    #: clients' calls that ended lately, as holdings give them (agent.holdings ``ended``)
    ended_calls: collections.deque[tuple[float, dict[str, Any]]] = field(
        default_factory=lambda: collections.deque(maxlen=ENDED_KEPT))
    _seq: dict[str, int] = field(default_factory=dict)
    _incoming: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: tells this process's incoming call ids from those of an earlier process of the same name
    #: (a replacement must never reuse the id of a call its predecessor held)
    _incarnation: str = field(default_factory=lambda: secrets.token_hex(2))
    _releasing: collections.deque[float] = field(default_factory=collections.deque)

    def emit(self, op: str, obj: str, data: dict[str, Any]) -> None:
        """Queue an event; per-object sequence numbers start at 1."""
        seq = self._seq.get(obj, 0) + 1
        self._seq[obj] = seq
        self.outbox.append(proto.evt(op, obj, seq, data))

    def seq_of(self, obj: str) -> int:
        """The ``seq`` of the last event queued about ``obj`` (0: none yet)."""
        return self._seq.get(obj, 0)

    def saw_ids(self, args: dict[str, Any]) -> None:
        """Note the object ids a coordinator's request names (agent.holdings ``ids``)."""
        for key in ("acc", "call", "buddy"):
            self.ids_seen = max(self.ids_seen, id_number(args.get(key)))

    def forget(self, obj: str) -> None:
        """Drop an object's sequence counter once its last event is queued."""
        self._seq.pop(obj, None)

    def drop_events(self, obj: str) -> None:
        """Withdraw queued events of an object whose creating request failed."""
        self.outbox = collections.deque(m for m in self.outbox if m.obj != obj)
        self.forget(obj)

    def new_incoming_id(self) -> str:
        """A global id for a call that arrived here (agent names are unique in a fleet, and each
        process of a name has its own incarnation tag)."""
        return f"{self.name}:{self._incarnation}.in{next(self._incoming)}"

    def new_media_id(self, kind: str) -> str:
        """A global id for a media object made here, e.g. ``agent-01/player-3f2a.1``."""
        return f"{self.name}/{kind}-{self._incarnation}.{next(self._incoming)}"

    def slot_released(self) -> None:
        """A call ended: pjsua may hold its slot a little longer than our table does."""
        now = time.monotonic()
        self._releasing.append(now + SLOT_RELEASE_GRACE_S)

    def free_slots(self) -> int:
        """Calls that may start now (none while draining)."""
        if self.draining:
            return 0
        now = time.monotonic()
        while self._releasing and self._releasing[0] <= now:
            self._releasing.popleft()
        return max(0, self.capacity - len(self.calls) - len(self._releasing))

    def load(self) -> dict[str, Any]:
        """The heartbeat's payload (agent.health adds the health figures)."""
        return {"calls": len(self.calls), "capacity": self.capacity,
                "max_accounts": self.max_accounts,
                "sockets_free": max(0, self.budget.free()), "accounts": len(self.accounts),
                "state": "draining" if self.draining else "ready"}

    def bridge_room(self) -> bool:
        """Whether the conference bridge takes one more stream (a call's media, made again by
        hold, unhold, re-INVITE or UPDATE): when it cannot, pjsua 2.15.1 tears the call's media
        down and makes new sockets at the next offer, outside any budget (agent.bridge)."""
        if self.bridge is None:
            return True
        self.bridge.reclaim(self.bridge_expected())
        return self.bridge.used() < self.bridge.max_ports - self.bridge.reserve

    def bridge_expected(self) -> int:
        """Conference bridge ports the live objects explain: the master port, one per call (its
        audio stream), one per media object, one per load run's media source."""
        sources = sum(1 for gen in self.loads.values()
                      if getattr(gen.sender, "source", None) is not None)
        return 1 + len(self.calls) + len(self.media) + sources

    def reap(self) -> None:
        """Delete the accounts that were waiting for their calls to end."""
        for acc_id, acc in list(self.accounts.items()):
            if acc.deleting and not any(c.acc_id == acc_id for c in self.calls.values()):
                del self.accounts[acc_id]
                acc.shutdown()
                self.forget(acc_id)
