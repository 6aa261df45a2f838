"""One handler per client op, and the dispatch table.

A handler gets the coordinator, the client's routing id and the validated request. It either
replies at once (``co.reply``) or forwards the request to the agent that must execute it
(``co.forward``); it raises ProtoError for the error reply.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import proto
from coordinator.objects import AccountRec, CallRec
from coordinator.placement import AgentLoad, place_account, place_call
from coordinator.registry import AgentRecord
from coordinator.replicas import place_spread, replicate_everywhere
from coordinator.subscribe import events_subscribe, events_unsubscribe
from proto import ProtoError, sip_addresses
from proto.ops import ACC_POLICY, ACC_SIP

if TYPE_CHECKING:
    from coordinator.broker import Coordinator

Handler = Callable[["Coordinator", bytes, proto.Message], None]

#: agents tried for one acc.create or call.make before the fleet is declared full
MAKE_ATTEMPTS = 3


def lib_agents(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.reply(client, msg, {"agents": [r.public() for r in co.registry.listed(co.clock())]})


def lib_status(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.reply(client, msg, {"agents": [r.public() for r in co.registry.listed(co.clock())],
                           "accounts": len(co.objects.accounts), "calls": len(co.objects.calls),
                           "version": proto.limits.VERSION,
                           "loads": [dict(run.progress(co.clock()), run=run.run)
                                     for run in co.loads.values()],
                           "client_queue": co.delivery.queue, "dropped": co.delivery.dropped,
                           "gaps_owed": co.delivery.pending(),
                           "busy_refused": co.budgets.refused, "held": co.budgets.held(),
                           **({"firehose": {"subscribers": len(co.firehose.open),
                                            "max_subscribers": co.firehose.max_subscribers,
                                            "refused": co.firehose.refused,
                                            "skipped": co.firehose.skipped}}
                              if co.firehose is not None else {}),
                           "adopting": round(co.adoption.left(co.clock()), 3)})


def _contact(co: Coordinator, acc: AccountRec) -> str:
    """A URI that reaches the account at its home agent's SIP address (on the account's
    transport, when it is bound to one)."""
    bare = acc.uri.rsplit("<", 1)[-1].rstrip(">").strip()
    user = bare.split(":", 1)[1].split("@", 1)[0] if "@" in bare else ""
    agent = co.registry.by_name.get(acc.home)
    return sip_addresses.contact(
        user, sip_addresses.find(agent.sip, acc.sip.get("transport", "")) if agent else None)


def _account_agents(co: Coordinator, args: dict[str, Any], op: str) -> list[AgentLoad]:
    """The agents an account may be created on: the one named by ``agent``, those listening on
    its ``transport``; clear errors when there is none."""
    loads = co.registry.loads()
    pin, kind = args.get("agent"), args.get("transport")
    if pin:
        rec = co.registry.by_name.get(pin)
        if rec is None or not rec.ready:
            raise ProtoError("E_NOT_FOUND", f"no ready agent {pin!r}", obj=pin, op=op)
        loads = [a for a in loads if a.name == pin]
    if kind:
        loads = [a for a in loads
                 if sip_addresses.find(co.registry.by_name[a.name].sip, kind) is not None]
        if not loads:
            raise ProtoError("E_NOT_FOUND", f"no {'such ' if pin else ''}agent listens on "
                             f"{kind.upper()}", obj=pin or "", op=op)
    return loads


def _call_agents(co: Coordinator, acc: AccountRec) -> list[AgentLoad]:
    """Where the account's calls may go: anywhere, but an account bound to a transport keeps
    its calls on its home agent (its Contact is that agent's transport)."""
    loads = co.registry.loads()
    return [a for a in loads if a.name == acc.home] if acc.sip.get("transport") else loads


def acc_create(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    chosen = args.get("acc")
    have = co.objects.accounts.get(chosen) if chosen else None
    if have is not None and have.owner == client and have.uri == args["uri"] and have.replicas:
        co.reply(client, msg, {"acc": have.gid, "agent": have.home, "contact": _contact(co, have)})
        return  # a retried request
    if not co.registry.live():
        raise ProtoError("E_NO_AGENT", "no agent is connected", op=msg.op)
    candidates = {a.name for a in _account_agents(co, args, msg.op)}
    gid = co.objects.new_id("a", chosen)
    acc = AccountRec(gid, client, args["uri"], args.get("auto_answer"), home="",
                     sip={f.name: args[f.name] for f in ACC_SIP if args.get(f.name) is not None},
                     policy={f.name: args[f.name] for f in ACC_POLICY if args.get(f.name) is not None},
                     everywhere=args.get("replicas") == "all")
    co.objects.accounts[gid] = acc
    tried: set[str] = set()

    def attempt() -> None:
        name = place_account([a for a in co.registry.loads() if a.name in candidates], tried)
        if name is None:
            co.objects.accounts.pop(gid, None)
            raise ProtoError("E_NO_CAPACITY", "every agent holds its maximum of accounts",
                             obj=gid, op=msg.op)
        tried.add(name)
        acc.home = name
        agent = co.registry.by_name[name]
        agent.accounts += 1
        co.forward(client, msg, agent, acc.create_args(co.access.owner_args(client), home=True),
                   lambda rep: done(rep, agent))

    def done(rep: proto.Message, agent: AgentRecord) -> None:
        if rep.ok:
            acc.replicas.add(agent.name)
            if acc.everywhere:
                replicate_everywhere(co, acc, lambda: co.reply(client, msg, {
                    "acc": gid, "agent": agent.name, "contact": _contact(co, acc),
                    "replicas": sorted(acc.replicas)}))
                return
            co.reply(client, msg, {"acc": gid, "agent": agent.name, "contact": _contact(co, acc)})
            return
        agent.accounts = max(0, agent.accounts - 1)
        if _retry(co, client, msg, rep, tried, attempt):
            return
        co.objects.accounts.pop(gid, None)
        rep.id = msg.id
        co.to_client(client, rep)

    attempt()


def acc_delete(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    acc = co.objects.account(msg.args["acc"], msg.op)
    del co.objects.accounts[acc.gid]
    for name in acc.replicas:
        agent = co.registry.by_name.get(name)
        if agent is None or not agent.alive:
            continue
        agent.accounts = max(0, agent.accounts - 1)
        co.forward(None, msg, agent, {"acc": acc.gid}, lambda rep: None)
    co.reply(client, msg)


def call_make(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    args = msg.args
    acc = co.objects.account(args["acc"], msg.op)
    chosen = args.get("call")
    have = co.objects.calls.get(chosen) if chosen else None
    if have is not None and have.owner == client and have.acc == acc.gid:
        co.reply(client, msg, {"call": have.gid, "agent": have.agent})
        return  # a retried request: never a second call
    gid = co.objects.new_id("c", chosen)
    tried: set[str] = set()

    def attempt() -> None:
        loads = _call_agents(co, acc)
        name = place_spread(loads, acc.replicas, acc.turn, tried) if acc.everywhere else None
        acc.turn += 1
        name = name or place_call(loads, acc.home, acc.replicas, tried)
        if name is None:
            co.objects.calls.pop(gid, None)
            raise ProtoError("E_NO_CAPACITY", "every agent's call slots are busy", obj=gid,
                             op=msg.op)
        tried.add(name)
        agent = co.registry.by_name[name]
        co.objects.calls[gid] = CallRec(gid, client, name, acc.gid, state="CALLING")
        agent.calls += 1
        fwd: dict[str, Any] = {"acc": acc.gid, "call": gid, "uri": args["uri"],
                               **co.access.owner_args(client)}
        if args.get("headers"):
            fwd["headers"] = args["headers"]
        if name not in acc.replicas:
            fwd["acc_cfg"] = acc.cfg()
        co.forward(client, msg, agent, fwd, lambda rep: done(rep, agent.name))

    def done(rep: proto.Message, name: str) -> None:
        if rep.ok:
            agent = co.registry.by_name.get(name)
            if name not in acc.replicas and agent is not None and acc.gid in co.objects.accounts:
                acc.replicas.add(name)
                agent.accounts += 1
            co.reply(client, msg, {"call": gid, "agent": name})
            return
        call = co.objects.calls.get(gid)
        if call is not None and call.agent == name:
            co.end_call(call)
        agent = co.registry.by_name.get(name)
        if (rep.error or {}).get("code") == "E_TIMEOUT" and agent is not None and agent.alive:
            # the agent may still make the call late: make sure it does not live untracked
            hangup = proto.req("call.hangup", {"call": gid}, msg.id)
            co.forward(None, hangup, agent, {"call": gid}, lambda rep: None)
        if _retry(co, client, msg, rep, tried, attempt):
            return
        rep.id = msg.id
        co.to_client(client, rep)

    attempt()


def _retry(co: Coordinator, client: bytes, msg: proto.Message, rep: proto.Message,
           tried: set[str], attempt: Callable[[], None]) -> bool:
    """After an agent refused for lack of capacity, try another one (up to MAKE_ATTEMPTS).

    True when the request was re-placed or answered here; False: forward the agent's error."""
    if (rep.error or {}).get("code") != "E_NO_CAPACITY" or len(tried) >= MAKE_ATTEMPTS:
        return False
    try:
        attempt()
    except ProtoError as exc:
        co.fail(client, msg, exc)
    return True


def _route_to_call(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """call.answer / call.hangup / call.info: executed by the agent holding the call."""
    call = co.objects.call(msg.args["call"], msg.op)
    agent = co.registry.by_name.get(call.agent)
    if agent is None or not agent.alive:
        raise ProtoError("E_WORKER_LOST", f"agent {call.agent} is lost", obj=call.gid, op=msg.op)
    co.forward(client, msg, agent, msg.args)


#: every op whose target is "call" is executed by the agent holding the call: one route for all
CALL_ROUTES: dict[str, Handler] = {name: _route_to_call for name, spec in proto.OPS.items()
                                   if spec.target == "call"}

def fatal_report(co: Coordinator, msg: proto.Message) -> dict[str, Any]:
    """A supervisord gave up on a process: the operator must look (logged on stderr). Returns
    the reply's result; the request came on the agents socket or from an admin client."""
    a = msg.args
    rec = co.registry.by_name.get(a["name"])
    print(f"coordinator: supervisord on {a['host']!r} reports {a['group']}:{a['name']} FATAL "
          f"(from {a['from_state']}): it will not be restarted", file=sys.stderr, flush=True)
    return {"known": rec is not None, "alive": rec is not None and rec.alive}


def agent_fatal(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.reply(client, msg, fatal_report(co, msg))


HANDLERS: dict[str, Handler] = {
    "agent.fatal": agent_fatal,
    "lib.agents": lib_agents,
    "lib.status": lib_status,
    "acc.create": acc_create,
    "acc.delete": acc_delete,
    "call.make": call_make,
    "events.subscribe": events_subscribe,
    "events.unsubscribe": events_unsubscribe,
    **CALL_ROUTES,
}
