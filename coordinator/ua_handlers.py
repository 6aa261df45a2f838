"""Routes of the user-agent ops beyond making and ending calls (registration, call control,
DTMF, instant messages): account ops go to the account's home agent. Call ops need no entry
here: ``coordinator.handlers.CALL_ROUTES`` routes every op whose target is "call".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator import sip_transports
from coordinator.handlers import Handler
from proto import ProtoError
from proto.ops import ACC_POLICY

if TYPE_CHECKING:
    from coordinator.broker import Coordinator


def _route_to_home(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """An account op executed by the account's home agent (where it registers)."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    agent = co.registry.by_name.get(acc.home)
    if agent is None or not agent.alive or acc.home not in acc.replicas:
        raise ProtoError("E_WORKER_LOST", f"the home agent {acc.home or '-'} of account {acc.gid} "
                         "is lost", obj=acc.gid, op=msg.op)
    co.forward(client, msg, agent, msg.args)


acc_set_registration = acc_send_pager = acc_send_typing_ind = _route_to_home


def acc_set_policy(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Remember the policy (future replicas get it) and set it on every replica; the home
    agent's reply answers the client."""
    acc = co.objects.account(msg.args["acc"], msg.op)
    acc.policy.update({f.name: msg.args[f.name] for f in ACC_POLICY
                       if msg.args.get(f.name) is not None})
    for name in sorted(acc.replicas - {acc.home}):
        agent = co.registry.by_name.get(name)
        if agent is not None and agent.alive:
            co.forward(None, msg, agent, msg.args, lambda rep: None)
    _route_to_home(co, client, msg)


def lib_transports(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    """Every SIP transport of the ready agents, as their hellos announced them."""
    co.reply(client, msg, {"transports": [
        {"agent": rec.name, "type": a.kind, "host": a.host.strip("[]"), "port": a.port}
        for rec in co.registry.live() if rec.ready for a in sip_transports.addresses(rec.sip)]})


UA_HANDLERS: dict[str, Handler] = {
    "lib.transports": lib_transports,
    "acc.set_registration": acc_set_registration,
    "acc.send_pager": acc_send_pager,
    "acc.send_typing_ind": acc_send_typing_ind,
    "acc.set_policy": acc_set_policy,
}
