"""Routes of the user-agent ops beyond making and ending calls (registration, call control,
DTMF, instant messages): account ops go to the account's home agent. Call ops need no entry
here: ``coordinator.handlers.CALL_ROUTES`` routes every op whose target is "call".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.handlers import Handler
from coordinator.objects import AccountRec
from proto import ProtoError, sip_addresses
from proto.ops import ACC_POLICY, ACC_SETTINGS

if TYPE_CHECKING:
    from coordinator.broker import Coordinator, OnReply


def _route_to_home(co: Coordinator, client: bytes, msg: proto.Message,
                   args: dict[str, Any] | None = None, on_reply: OnReply | None = None,
                   acc: AccountRec | None = None) -> None:
    """An account op executed by the account's home agent (where it registers)."""
    acc = acc or co.objects.account(msg.args["acc"], msg.op)
    agent = co.registry.by_name.get(acc.home)
    if agent is None or not agent.alive or acc.home not in acc.replicas:
        raise ProtoError("E_WORKER_LOST", f"the home agent {acc.home or '-'} of account {acc.gid} "
                         "is lost", obj=acc.gid, op=msg.op)
    co.forward(client, msg, agent, msg.args if args is None else args, on_reply)


acc_send_pager = acc_send_typing_ind = acc_set_presence = _route_to_home


def _to_other_replicas(co: Coordinator, msg: proto.Message, acc: AccountRec) -> None:
    """Send ``msg`` to every live replica but the home one; their replies are dropped."""
    for name in sorted(acc.replicas - {acc.home}):
        agent = co.registry.by_name.get(name)
        if agent is not None and agent.alive:
            co.forward(None, msg, agent, msg.args, lambda rep: None)


def acc_set_registration(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """From the home agent; an account on every agent (re-)registers from each of them."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    if acc.everywhere:
        _to_other_replicas(co, msg, acc)
    _route_to_home(co, client, msg, acc=acc)


def acc_add_buddy(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """A buddy on the account's home agent; the coordinator keeps its id and URI."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    gid = msg.args.get("buddy") or co.objects.new_buddy_id()
    if any(gid in other.buddies for other in co.objects.accounts.values() if other is not acc):
        raise ProtoError("E_DUPLICATE", f"buddy id {gid!r} is in use", obj=gid, op=msg.op)
    if acc.buddies.get(gid, {"uri": msg.args["uri"]})["uri"] != msg.args["uri"]:
        raise ProtoError("E_DUPLICATE", f"buddy {gid!r} exists with another URI", obj=gid,
                         op=msg.op)

    def done(rep: proto.Message) -> None:
        if rep.ok and acc.gid in co.objects.accounts:
            acc.buddies[gid] = {"uri": msg.args["uri"],
                                "subscribe": bool(msg.args.get("subscribe"))}
        rep.id = msg.id
        co.to_client(client, rep)

    _route_to_home(co, client, msg, dict(msg.args, buddy=gid), done)


def readd_buddies(co: Coordinator, acc: AccountRec) -> None:
    """The account moved to a new home agent: make its buddies there again (subscribed when
    they were), so that their acc.buddy_state events come from the new home."""
    agent = co.registry.by_name.get(acc.home)
    if agent is None or not agent.alive:
        return
    for gid, buddy in sorted(acc.buddies.items()):
        args = {"acc": acc.gid, "buddy": gid, **buddy}
        try:
            co.forward(None, proto.req("acc.add_buddy", args, f"rebuddy-{gid}"), agent, args,
                       lambda rep: None)
        except ProtoError:
            return  # the agent went away too: the account moves again, and so do its buddies


def buddy_op(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """buddy.subscribe / info / delete: executed where the buddy's account lives."""
    acc = co.objects.buddy(msg.args["buddy"], msg.op)
    gid = msg.args["buddy"]

    def done(rep: proto.Message) -> None:
        if rep.ok and msg.op == "buddy.delete":
            acc.buddies.pop(gid, None)
        elif rep.ok and msg.op == "buddy.subscribe" and gid in acc.buddies:
            acc.buddies[gid]["subscribe"] = msg.args["subscribe"]
        rep.id = msg.id
        co.to_client(client, rep)

    _route_to_home(co, client, msg, dict(msg.args, acc=acc.gid), done, acc)


def acc_set_policy(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Remember the policy (future replicas get it) and set it on every replica; the home
    agent's reply answers the client."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    acc.policy.update({f.name: msg.args[f.name] for f in ACC_POLICY
                       if msg.args.get(f.name) is not None})
    _to_other_replicas(co, msg, acc)
    _route_to_home(co, client, msg, acc=acc)


def acc_modify(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """New SIP settings: the home agent applies them and answers; on success the coordinator
    keeps them (later replicas are made with them) and every other replica gets them too."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    sip = {f.name: msg.args[f.name] for f in ACC_SETTINGS if msg.args.get(f.name) is not None}
    if acc.sip.get("transport"):
        sip["transport"] = acc.sip["transport"]

    def args_for(name: str) -> dict[str, Any]:
        return {"acc": acc.gid, **sip, "register": name == acc.home or acc.everywhere}

    def done(rep: proto.Message) -> None:
        if rep.ok and acc.gid in co.objects.accounts:
            acc.sip = sip
            for name in sorted(acc.replicas - {acc.home}):
                agent = co.registry.by_name.get(name)
                if agent is not None and agent.alive:
                    co.forward(None, msg, agent, args_for(name), lambda rep: None)
        rep.id = msg.id
        co.to_client(client, rep)

    _route_to_home(co, client, msg, args_for(acc.home), done, acc)


def lib_transports(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Every SIP transport of the ready agents, as their hellos announced them."""
    co.reply(client, msg, {"transports": [
        {"agent": rec.name, "type": a.kind, "host": a.host.strip("[]"), "port": a.port}
        for rec in co.registry.live() if rec.ready for a in sip_addresses.addresses(rec.sip)]})


UA_HANDLERS: dict[str, Handler] = {
    "lib.transports": lib_transports,
    "acc.add_buddy": acc_add_buddy,
    "buddy.subscribe": buddy_op,
    "buddy.info": buddy_op,
    "buddy.delete": buddy_op,
    "acc.set_presence": acc_set_presence,
    "acc.set_registration": acc_set_registration,
    "acc.modify": acc_modify,
    "acc.send_pager": acc_send_pager,
    "acc.send_typing_ind": acc_send_typing_ind,
    "acc.set_policy": acc_set_policy,
}
