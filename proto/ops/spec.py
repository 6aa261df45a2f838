"""What an op and an event are: their fields, and for an op how the coordinator serves it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from proto.schema import Field

#: client roles (CURVE keys, section 1.1), weakest first
ROLES = ("read-only", "full", "admin")
#: who may send an op unless its spec says otherwise
CONTROL = ("full", "admin")
#: what read-only clients may send too (reads that name no object of another client)
READ = ("read-only", "full", "admin")
#: what only admins may send (changes to what every client's calls use; fleet reports)
ADMIN = ("admin",)

#: how the coordinator serves a client op
ROUTES = ("forward", "own", "none")
#: the arguments of an op about an existing object that name objects its sender must own,
#: by the op's target (section 1.1, Ownership)
_OWNED_BY_TARGET = {"account": ("acc",), "call": ("call",), "buddy": ("buddy",),
                    "media": ("media", "src", "dst")}


@dataclass(frozen=True)
class OpSpec:
    """One request type.

    ``target`` says what it is about and who executes it: ``coordinator`` (answered by the
    coordinator alone), ``agent`` (placed on an agent by the coordinator), ``account``/``call``/
    ``buddy``/``media`` (executed by the agent that holds that object; a buddy lives on its
    account's home agent), ``coordinator-to-agent`` (sent by the coordinator to agents), or
    ``agent-to-coordinator`` (sent by agents). ``agent_args`` are extra fields only the
    coordinator adds when it forwards the request to an agent.

    How the coordinator serves it: ``route`` is ``forward`` (sent on unchanged to the agent
    holding the target object; no code of its own), ``own`` (a route of the coordinator's, for
    ops that need its logic: placement, bookkeeping, fan-out) or ``none`` (not sent by clients).
    ``roles`` may send it; ``owns`` names the arguments whose objects must belong to the sender
    (default: by target); ``adopting``: served while a restarted coordinator adopts (section 9);
    ``group`` is the module of ``proto.ops`` that declares it, and the module of its executor
    and route on each side.
    """

    name: str
    target: str
    doc: str
    args: tuple[Field, ...] = ()
    result: tuple[Field, ...] = ()
    agent_args: tuple[Field, ...] = ()
    route: str = "own"
    roles: tuple[str, ...] = CONTROL
    owns: tuple[str, ...] | None = None
    adopting: bool = False
    group: str = ""

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"{self.name}: unknown route {self.route!r}")
        if not set(self.roles) <= set(ROLES):
            raise ValueError(f"{self.name}: unknown roles {self.roles!r}")
        if self.owns is None:
            object.__setattr__(self, "owns", _OWNED_BY_TARGET.get(self.target, ()))

    @property
    def owned(self) -> tuple[str, ...]:
        """The arguments naming objects the sender must own."""
        return self.owns or ()

    @property
    def executed_by_agent(self) -> bool:
        """An agent executes it (else the coordinator alone does, or agents send it)."""
        return self.target not in ("coordinator", "agent-to-coordinator")

    @property
    def from_clients(self) -> bool:
        """Clients send it (the coordinator serves it with a route)."""
        return self.route != "none"


@dataclass(frozen=True)
class EventSpec:
    """One event type: ``obj`` is the id of the object it is about."""

    name: str
    obj: str
    doc: str
    data: tuple[Field, ...] = ()
    group: str = ""


S = TypeVar("S", OpSpec, EventSpec)


def grouped(group: str, specs: Iterable[S]) -> dict[str, S]:
    """The specs of one group module, by name, each told its group; a name twice is an error."""
    out: dict[str, S] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"{spec.name} is declared twice in group {group}")
        out[spec.name] = replace(spec, group=group)
    return out
