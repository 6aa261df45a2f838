"""Client ops of load runs (one handler per op) and the broker's per-second run upkeep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.loadctl import LoadRun
from coordinator.loadplan import Seat, parse_profile, plan
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.broker import Coordinator
    from coordinator.handlers import Handler

#: accounts a self-answering run needs on each agent (a caller and an answerer)
ACCOUNTS_PER_AGENT = 2


def _run(co: Coordinator, msg: proto.Message) -> LoadRun:
    run = co.loads.get(msg.args["run"])
    if run is None:
        raise ProtoError("E_NOT_FOUND", f"no load run {msg.args['run']!r}", obj=msg.args["run"],
                         op=msg.op)
    return run


def send_event(co: Coordinator, run: LoadRun, op: str, data: dict[str, Any]) -> None:
    run.seq += 1
    ev = proto.evt(op, run.run, run.seq, data)
    frame = proto.encode(ev)
    if run.owner is not None:
        co.send_frame_to_client(run.owner, frame)
    co.publish(ev, frame, run.owner)


def load_start(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    profile = parse_profile(msg.args)
    run_id = msg.args.get("run") or f"L{co.next_run_number()}"
    if run_id in co.loads:
        if co.loads[run_id].owner == client:
            co.reply(client, msg, {"run": run_id, "agents": co.loads[run_id].agents})
            return  # a retried request
        raise ProtoError("E_DUPLICATE", f"load run {run_id!r} exists", obj=run_id, op=msg.op)
    seats = [Seat(a.name, a.capacity, a.sip_hostport(), a.max_accounts - a.accounts)
             for a in co.registry.live()
             if a.ready and a.max_accounts - a.accounts >= ACCOUNTS_PER_AGENT]
    shares = plan(profile, seats, run_id)
    run = LoadRun(run_id, client, profile, shares, co.clock())
    co.loads[run_id] = run
    waiting = set(shares)
    codes: set[str] = set()

    def done(name: str, rep: proto.Message) -> None:
        waiting.discard(name)
        if not rep.ok:
            run.refused[name] = str((rep.error or {}).get("msg", "refused"))
            codes.add(str((rep.error or {}).get("code", "")))
            run.agent_lost(name)
            run.lost.remove(name)
        if not waiting:
            if len(run.refused) == len(shares):
                del co.loads[run_id]
                # every agent refused for the same bad argument (e.g. a WAV file it lacks): say so
                code = "E_BAD_ARGS" if codes == {"E_BAD_ARGS"} else "E_NO_CAPACITY"
                co.fail(client, msg, ProtoError(code, "no agent took the run: "
                                                f"{run.refused}", obj=run_id, op=msg.op))
            else:
                co.reply(client, msg, {"run": run_id, "agents": [a for a in run.agents
                                                                 if a not in run.refused]})
                if not run.released and not profile.registrar:
                    release(co, run)  # every answering account exists now

    kept = {**co.access.owner_args(client), "profile": profile.public()}
    for name, share in shares.items():
        agent = co.registry.by_name[name]
        share = {**share, **kept}  # the agent keeps them for a restarted coordinator
        co.forward(client, proto.req("load.agent_start", share, msg.id), agent, share,
                   lambda rep, name=name: done(name, rep))  # type: ignore[misc]


def load_status(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    co.reply(client, msg, {"progress": _run(co, msg).progress(co.clock())})


def load_set_rate(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    run = _run(co, msg)
    rate = float(msg.args["rate"])
    run.rate = rate
    weights = {n: int(s["caller"]["slots"]) for n, s in run.shares.items() if "caller" in s}
    total = sum(weights.values()) or 1
    for name, w in weights.items():
        agent = co.registry.by_name.get(name)
        if agent is not None and agent.alive and name not in run.done:
            args = {"run": run.run, "rate": rate * w / total}
            co.forward(None, proto.req("load.agent_rate", args, msg.id), agent, args,
                       lambda rep: None)
    co.reply(client, msg)


def _tell_agents(co: Coordinator, run: LoadRun, op: str, op_id: str) -> None:
    """Send ``op`` to every agent still in the run (replies are not awaited)."""
    for name in run.agents:
        agent = co.registry.by_name.get(name)
        if agent is not None and agent.alive and name not in run.done:
            args = {"run": run.run}
            co.forward(None, proto.req(op, args, op_id), agent, args, lambda rep: None)


def release(co: Coordinator, run: LoadRun) -> None:
    """Let the run's agents start calling."""
    run.released = True
    _tell_agents(co, run, "load.agent_go", f"go-{run.run}")


def release_when_registered(co: Coordinator, run: LoadRun, now: float) -> None:
    """A registrar run: let the agents call once every identity is registered; end the run
    if a registration fails or takes too long."""
    verdict = run.registration(now)
    if verdict == "go":
        release(co, run)
    elif verdict != "wait":
        run.end_reason = verdict
        end_run(co, run, f"end-{run.run}")


def end_run(co: Coordinator, run: LoadRun, op_id: str) -> None:
    """Tell every agent still in the run to finish."""
    run.ending = True
    _tell_agents(co, run, "load.agent_end", op_id)


def load_stop(co: Coordinator, client: bytes, msg: proto.Message) -> None:
    run = _run(co, msg)
    run.stopped_by_user = True
    end_run(co, run, msg.id)
    co.reply(client, msg)


def upkeep(co: Coordinator, now: float) -> None:
    """Per turn: progress events, ending runs whose callers are through, final reports."""
    for run_id, run in list(co.loads.items()):
        progress = run.tick(now)
        if progress is not None:
            send_event(co, run, "load.progress", progress)
        if run.adopted and co.adoption.open:
            continue  # agents of the run may still come back: nothing ends before they do
        if not run.released and not run.ending and run.profile.registrar:
            release_when_registered(co, run, now)
        if run.should_end():
            end_run(co, run, f"end-{run_id}")
        if run.finished():
            del co.loads[run_id]
            co.load_totals.add(run)
            send_event(co, run, "load.done", {"report": run.report(now)})


LOAD_HANDLERS: dict[str, Handler] = {
    "load.start": load_start,
    "load.status": load_status,
    "load.set_rate": load_set_rate,
    "load.stop": load_stop,
}
