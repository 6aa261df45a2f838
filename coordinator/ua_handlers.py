"""Routes of the user-agent ops beyond making and ending calls (registration, call control,
DTMF, instant messages): each is executed by the agent that holds its object. One handler per
op, as in ``coordinator.handlers``; the broker merges ``UA_HANDLERS`` into its dispatch table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.handlers import Handler, _route_to_call
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


#: ops executed by the agent of their call (the route of call.answer)
call_hold = call_unhold = call_reinvite = call_update = call_dial_dtmf = _route_to_call
call_send_pager = call_send_typing_ind = call_transfer = call_stats = _route_to_call

UA_HANDLERS: dict[str, Handler] = {
    "acc.set_registration": acc_set_registration,
    "call.hold": call_hold,
    "call.unhold": call_unhold,
    "call.reinvite": call_reinvite,
    "call.update": call_update,
    "call.dial_dtmf": call_dial_dtmf,
    "acc.send_pager": acc_send_pager,
    "acc.send_typing_ind": acc_send_typing_ind,
    "call.send_pager": call_send_pager,
    "call.send_typing_ind": call_send_typing_ind,
    "acc.set_policy": acc_set_policy,
    "call.transfer": call_transfer,
    "call.stats": call_stats,
}
