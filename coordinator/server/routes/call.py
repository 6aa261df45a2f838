"""The route of call.make: placement on an agent with a free slot (the account's home first,
its replicas, then any agent, with a replica made there), retried elsewhere when an agent is
full. When every agent refuses, the call waits a little (SLOT_WAIT_S at most, tried again
every RETRY_S) before E_NO_CAPACITY: a call that just ended keeps its agent's slot (and its
sockets) busy for a moment after its end, so back-to-back calls on an idle fleet would be
refused for a capacity the fleet has. Every other call op is forwarded to the agent holding
the call (``routes.forward``)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.objects import AccountRec, CallRec
from coordinator.server.placement import place_call
from coordinator.server.replicas import place_spread
from coordinator.server.routes.account import retry
from coordinator.server.routes.registry import route
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

log = logging.getLogger("coordinator")

#: longest a call.make waits for a slot being freed before E_NO_CAPACITY
SLOT_WAIT_S = 1.0
#: how often it tries again meanwhile
RETRY_S = 0.1


#: set (to anything) in the tests' environment: each placement is also made by the scan the
#: capacity index replaces, and a difference fails the call.make (E_INTERNAL) and is logged
CHECK_ENV = "CALLFLEET_CHECK_PLACEMENT"
_CHECK = bool(os.environ.get(CHECK_ENV))


def _place(server: Coordinator, acc: AccountRec, tried: set[str]) -> str | None:
    """The agent for the account's next call: for an account on every agent, the next of its
    replicas in turn; else the index's choice (home, replicas, then the freest agent). An
    account bound to a transport keeps its calls on its home agent (its Contact is that
    agent's transport)."""
    if acc.sip.get("transport"):
        return acc.home if server.free_slots(acc.home) > 0 and acc.home not in tried else None
    name = None
    if acc.everywhere:
        loads = [load for n in acc.replicas if (load := server.load_of(n)) is not None]
        name = place_spread(loads, acc.replicas, acc.turn, tried)
    acc.turn += 1
    if name is None:
        name = server.capacity.place_call(acc.home, acc.replicas, tried)
        if _CHECK:
            scanned = place_call(server.registry.loads(server.counts), acc.home, acc.replicas,
                                 tried)
            if scanned != name:
                log.error("placement index chose %s, the scan %s", name, scanned)
                raise ProtoError("E_INTERNAL", f"placement index chose {name}, the scan "
                                 f"{scanned}")
    return name


@route("call.make")
def call_make(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    acc = server.objects.account(msg.args["acc"], msg.op)
    chosen = msg.args.get("call")
    have = server.objects.calls.get(chosen) if chosen else None
    if have is not None and have.owner == client and have.acc == acc.gid:
        server.pipeline.reply(client, msg, {"call": have.gid, "agent": have.agent})
        return  # a retried request: never a second call
    _Placement(server, client, msg, acc, server.objects.new_id("c", chosen)).attempt()


class _Placement:
    """One call.make: placed on an agent with a free slot, tried elsewhere when an agent is
    full (MAKE_ATTEMPTS); the agent gets the account's settings when it lacks a replica."""

    def __init__(self, server: Coordinator, client: bytes, msg: proto.Message, acc: AccountRec,
                 gid: str) -> None:
        self.server, self.client, self.msg, self.acc, self.gid = server, client, msg, acc, gid
        self.tried: set[str] = set()
        self.since = server.clock()

    def attempt(self) -> None:
        server, acc, args = self.server, self.acc, self.msg.args
        name = _place(server, acc, self.tried)
        if name is None:
            server.objects.drop_call(self.gid)
            if self.wait():
                return
            raise ProtoError("E_NO_CAPACITY", "every agent's call slots are busy", obj=self.gid,
                             op=self.msg.op)
        self.tried.add(name)
        persistent = bool(args.get("persistent"))
        server.objects.add_call(CallRec(self.gid, self.client, name, acc.gid, state="CALLING",
                                        persistent=persistent))
        fwd: dict[str, Any] = {"acc": acc.gid, "call": self.gid, "uri": args["uri"],
                               **server.access.owner_args(self.client)}
        if persistent:
            fwd["persistent"] = True
        for key in ("headers", "audio_count"):
            if args.get(key):
                fwd[key] = args[key]
        if name not in acc.replicas:
            fwd["acc_cfg"] = acc.cfg()
        server.pipeline.forward(self.client, self.msg, server.registry.by_name[name], fwd,
                                lambda rep: self.done(rep, name))

    def wait(self) -> bool:
        """Try again in a moment, while SLOT_WAIT_S lasts and the account still exists."""
        server = self.server
        if server.clock() + RETRY_S - self.since > SLOT_WAIT_S:
            return False
        server.later.at(server.clock() + RETRY_S, self.again)
        return True

    def again(self) -> None:
        if self.acc.gid not in self.server.objects.accounts:
            self.server.pipeline.fail(self.client, self.msg, ProtoError(
                "E_NOT_FOUND", f"account {self.acc.gid} was deleted", obj=self.acc.gid,
                op=self.msg.op))
            return
        self.tried.clear()
        try:
            self.attempt()
        except ProtoError as exc:
            self.server.pipeline.fail(self.client, self.msg, exc)

    def done(self, rep: proto.Message, name: str) -> None:
        server, acc, msg = self.server, self.acc, self.msg
        if rep.ok:
            if name not in acc.replicas and acc.gid in server.objects.accounts:
                server.objects.hold(acc, add={name})  # the agent made a replica for the call
            server.pipeline.reply(self.client, msg, {"call": self.gid, "agent": name})
            return
        call = server.objects.calls.get(self.gid)
        if call is not None and call.agent == name:
            server.objects.drop_call(self.gid)
        agent = server.registry.by_name.get(name)
        if (rep.error or {}).get("code") == "E_TIMEOUT" and agent is not None and agent.alive:
            # the agent may still make the call late: make sure it does not live untracked
            hangup = proto.req("call.hangup", {"call": self.gid}, msg.id)
            server.pipeline.forward(None, hangup, agent, {"call": self.gid}, lambda rep: None)
        if retry(server, self.client, msg, rep, self.tried, self.attempt):
            return
        if (rep.error or {}).get("code") == "E_NO_CAPACITY" and self.wait():
            return
        rep.id = msg.id
        server.pipeline.to_client(self.client, rep)
