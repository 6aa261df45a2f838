"""Routes of the account ops that need the coordinator: creation (placement, retries, a replica
on every agent), deletion, and settings kept for replicas made later (registration, SIP
settings, policy). acc.send_pager, acc.send_typing_ind and acc.set_presence are forwarded to
the home agent as they are (``routes.forward``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.expiry import delete_account, tell_agent
from coordinator.server.objects import AccountRec
from coordinator.server.placement import AgentLoad, place_account
from coordinator.server.registry import AgentRecord
from coordinator.server.replicas import replicate_everywhere
from coordinator.server.routes.forward import home_agent
from coordinator.server.routes.registry import route
from proto import ProtoError, sip_addresses
from proto.ops import ACC_POLICY, ACC_SETTINGS, ACC_SIP

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


#: agents tried for one acc.create or call.make before the fleet is declared full
MAKE_ATTEMPTS = 3


def _account_agents(server: Coordinator, args: dict[str, Any], op: str) -> list[AgentLoad]:
    """The agents an account may be created on: the one named by ``agent``, those listening on
    its ``transport``; clear errors when there is none."""
    loads = server.registry.loads(server.counts)
    pin, kind = args.get("agent"), args.get("transport")
    if pin:
        rec = server.registry.by_name.get(pin)
        if rec is None or not rec.ready:
            raise ProtoError("E_NOT_FOUND", f"no ready agent {pin!r}", obj=pin, op=op)
        loads = [a for a in loads if a.name == pin]
    if kind:
        loads = [a for a in loads
                 if sip_addresses.find(server.registry.by_name[a.name].sip, kind) is not None]
        if not loads:
            raise ProtoError("E_NOT_FOUND", f"no {'such ' if pin else ''}agent listens on "
                             f"{kind.upper()}", obj=pin or "", op=op)
    return loads


@route("acc.create")
def acc_create(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    chosen = args.get("acc")
    have = server.objects.accounts.get(chosen) if chosen else None
    if have is not None and have.owner == client and have.uri == args["uri"] and have.replicas:
        server.pipeline.reply(client, msg, {"acc": have.gid, "agent": have.home,
                                            "contact": server.registry.contact(have)})
        return  # a retried request
    if not server.registry.live():
        raise ProtoError("E_NO_AGENT", "no agent is connected", op=msg.op)
    candidates = {a.name for a in _account_agents(server, args, msg.op)}
    acc = AccountRec(server.objects.new_id("a", chosen), client, args["uri"], args.get("auto_answer"),
                     sip={f.name: args[f.name] for f in ACC_SIP if args.get(f.name) is not None},
                     policy={f.name: args[f.name] for f in ACC_POLICY
                             if args.get(f.name) is not None},
                     everywhere=args.get("replicas") == "all",
                     persistent=bool(args.get("persistent")))
    server.objects.add_account(acc)
    _Creation(server, client, msg, acc, candidates).attempt()


class _Creation:
    """One acc.create: placed on the agent holding the fewest accounts, tried elsewhere when an
    agent is full (MAKE_ATTEMPTS), then (replicas=all) made on every other agent."""

    def __init__(self, server: Coordinator, client: bytes, msg: proto.Message, acc: AccountRec,
                 candidates: set[str]) -> None:
        self.server, self.client, self.msg, self.acc = server, client, msg, acc
        self.candidates = candidates
        self.tried: set[str] = set()

    def attempt(self) -> None:
        server, acc = self.server, self.acc
        name = place_account([a for a in server.registry.loads(server.counts)
                              if a.name in self.candidates], self.tried)
        if name is None:
            server.objects.drop_account(acc.gid)
            raise ProtoError("E_NO_CAPACITY", "every agent holds its maximum of accounts",
                             obj=acc.gid, op=self.msg.op)
        self.tried.add(name)
        # its slot there is taken while the agent creates it
        server.objects.hold(acc, home=name, reserve={name})
        agent = server.registry.by_name[name]
        server.pipeline.forward(self.client, self.msg, agent,
                                acc.create_args(server.access.owner_args(self.client), home=True),
                                lambda rep: self.done(rep, agent))

    def done(self, rep: proto.Message, agent: AgentRecord) -> None:
        server, acc, client, msg = self.server, self.acc, self.client, self.msg
        if server.objects.accounts.get(acc.gid) is not acc:
            self.deleted_meanwhile(rep, agent)
            return
        if rep.ok:
            server.objects.hold(acc, add={agent.name}, release={agent.name})
            result = {"acc": acc.gid, "agent": agent.name, "contact": server.registry.contact(acc)}
            if acc.everywhere:
                replicate_everywhere(server, acc, lambda: server.pipeline.reply(client, msg, {
                    **result, "replicas": sorted(acc.replicas)}))
                return
            server.pipeline.reply(client, msg, result)
            return
        server.objects.hold(acc, home="", release={agent.name})
        if retry(server, client, msg, rep, self.tried, self.attempt):
            return
        server.objects.drop_account(acc.gid)
        rep.id = msg.id
        server.pipeline.to_client(client, rep)

    def deleted_meanwhile(self, rep: proto.Message, agent: AgentRecord) -> None:
        """The account was deleted (or its client's lease expired) while an agent created it:
        undo the creation there, and say so."""
        if rep.ok:
            tell_agent(self.server, agent.name, "acc.delete", {"acc": self.acc.gid})
        self.server.pipeline.fail(self.client, self.msg, ProtoError(
            "E_NOT_FOUND", f"account {self.acc.gid} was deleted while it was being created",
            obj=self.acc.gid, op=self.msg.op))


@route("acc.delete")
def acc_delete(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    delete_account(server, server.objects.account(msg.args["acc"], msg.op))
    server.pipeline.reply(client, msg)


def retry(server: Coordinator, client: bytes, msg: proto.Message, rep: proto.Message,
          tried: set[str], attempt: Callable[[], None]) -> bool:
    """After an agent refused for lack of capacity, try another one (up to MAKE_ATTEMPTS).

    True when the request was re-placed or answered here; False: forward the agent's error
    (also when the client's lease expired meanwhile: nothing more is made for it)."""
    if (rep.error or {}).get("code") != "E_NO_CAPACITY" or len(tried) >= MAKE_ATTEMPTS \
            or not server.leases.alive(client):
        return False
    try:
        attempt()
    except ProtoError as exc:
        server.pipeline.fail(client, msg, exc)
    return True


def _to_other_replicas(server: Coordinator, msg: proto.Message, acc: AccountRec) -> None:
    """Send ``msg`` to every live replica but the home one; their replies are dropped."""
    for name in sorted(acc.replicas - {acc.home}):
        agent = server.registry.by_name.get(name)
        if agent is not None and agent.alive:
            server.pipeline.forward(None, msg, agent, msg.args, lambda rep: None)


@route("acc.set_registration")
def acc_set_registration(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """From the home agent; an account on every agent (re-)registers from each of them."""
    acc = server.objects.account(msg.args["acc"], msg.op)
    if acc.everywhere:
        _to_other_replicas(server, msg, acc)
    server.pipeline.forward(client, msg, home_agent(server, acc, msg.op), msg.args)


@route("acc.set_policy")
def acc_set_policy(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Remember the policy (future replicas get it) and set it on every replica; the home
    agent's reply answers the client."""
    acc = server.objects.account(msg.args["acc"], msg.op)
    acc.policy.update({f.name: msg.args[f.name] for f in ACC_POLICY
                       if msg.args.get(f.name) is not None})
    _to_other_replicas(server, msg, acc)
    server.pipeline.forward(client, msg, home_agent(server, acc, msg.op), msg.args)


@route("acc.modify")
def acc_modify(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    """New SIP settings: the home agent applies them and answers; on success the coordinator
    keeps them (later replicas are made with them) and every other replica gets them too."""
    acc = server.objects.account(msg.args["acc"], msg.op)
    sip = {f.name: msg.args[f.name] for f in ACC_SETTINGS if msg.args.get(f.name) is not None}
    if acc.sip.get("transport"):
        sip["transport"] = acc.sip["transport"]

    def args_for(name: str) -> dict[str, Any]:
        return {"acc": acc.gid, **sip, "register": name == acc.home or acc.everywhere}

    def done(rep: proto.Message) -> None:
        if rep.ok and acc.gid in server.objects.accounts:
            acc.sip = sip
            for name in sorted(acc.replicas - {acc.home}):
                agent = server.registry.by_name.get(name)
                if agent is not None and agent.alive:
                    server.pipeline.forward(None, msg, agent, args_for(name), lambda rep: None)
        rep.id = msg.id
        server.pipeline.to_client(client, rep)

    server.pipeline.forward(client, msg, home_agent(server, acc, msg.op), args_for(acc.home), done)
