"""Routes of the load-run ops, and the per-turn upkeep of the runs (progress events, ends,
final reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.server.load.plan import Seat, parse_profile, plan
from coordinator.server.load.run import LoadRun
from coordinator.server.load.steering import end_run, release
from coordinator.server.routes.registry import route
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


#: accounts a self-answering run needs on each agent (a caller and an answerer)
ACCOUNTS_PER_AGENT = 2

def _run(server: Coordinator, msg: proto.Message) -> LoadRun:
    run = server.loads.get(msg.args["run"])
    if run is None:
        raise ProtoError("E_NOT_FOUND", f"no load run {msg.args['run']!r}", obj=msg.args["run"],
                         op=msg.op)
    return run


@route("load.start")
def load_start(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    profile = parse_profile(msg.args)
    run_id = msg.args.get("run") or f"L{server.next_run_number()}"
    if run_id in server.loads:
        if server.loads[run_id].owner == client:
            server.pipeline.reply(client, msg, {"run": run_id, "agents": server.loads[run_id].agents})
            return  # a retried request
        raise ProtoError("E_DUPLICATE", f"load run {run_id!r} exists", obj=run_id, op=msg.op)
    room = {a.name: a.max_accounts - server.counts.accounts_at(a.name) for a in server.registry.live()}
    # the slots calls already take (other clients', other runs') are not the run's to plan
    seats = [Seat(a.name, max(0, a.capacity - server.counts.calls_at(a.name)), a.sip_hostport(),
                  room[a.name])
             for a in server.registry.live() if a.ready and room[a.name] >= ACCOUNTS_PER_AGENT]
    shares = plan(profile, seats, run_id)
    run = LoadRun(run_id, client, profile, shares, server.clock())
    run.hostports = {s.name: s.hostport for s in seats}
    server.loads[run_id] = run
    waiting = set(shares)
    codes: set[str] = set()

    def done(name: str, rep: proto.Message) -> None:
        waiting.discard(name)
        if not rep.ok:
            run.refused_by(name, str((rep.error or {}).get("msg", "refused")))
            codes.add(str((rep.error or {}).get("code", "")))
        if not waiting:
            if len(run.refused) == len(shares):
                del server.loads[run_id]
                # every agent refused for the same bad argument (e.g. a WAV file it lacks): say so
                code = "E_BAD_ARGS" if codes == {"E_BAD_ARGS"} else "E_NO_CAPACITY"
                server.pipeline.fail(client, msg, ProtoError(code, "no agent took the run: "
                                                f"{run.refused}", obj=run_id, op=msg.op))
            else:
                server.pipeline.reply(client, msg, {"run": run_id, "agents": [a for a in run.agents
                                                                 if a not in run.refused]})
                if not run.released and not profile.registrar:
                    release(server, run)  # every answering account exists now

    kept = {**server.access.owner_args(client), "profile": profile.public()}
    for name, share in shares.items():
        agent = server.registry.by_name[name]
        share = {**share, **kept}  # the agent keeps them for a restarted coordinator
        server.pipeline.forward(client, proto.req("load.agent_start", share, msg.id), agent, share,
                   lambda rep, name=name: done(name, rep))  # type: ignore[misc]


@route("load.status")
def load_status(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    server.pipeline.reply(client, msg, {"progress": _run(server, msg).progress(server.clock())})


@route("load.set_rate")
def load_set_rate(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    run = _run(server, msg)
    rate = float(msg.args["rate"])
    run.set_rate(rate, server.clock())
    # the agents' parts keep their proportions (their first rates; slots for an adopted run)
    weights = {n: float(s["caller"].get("rate") or s["caller"]["slots"])
               for n, s in run.shares.items() if "caller" in s}
    total = sum(weights.values()) or 1.0
    for name, w in weights.items():
        agent = server.registry.by_name.get(name)
        if agent is not None and agent.alive and name not in run.done:
            args = {"run": run.run, "rate": rate * w / total}
            server.pipeline.forward(None, proto.req("load.agent_rate", args, msg.id), agent, args,
                       lambda rep: None)
    server.pipeline.reply(client, msg)


@route("load.stop")
def load_stop(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    run = _run(server, msg)
    run.stopped_by_user = True
    end_run(server, run, msg.id)
    server.pipeline.reply(client, msg)

