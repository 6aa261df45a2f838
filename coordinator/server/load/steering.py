"""Load runs from the coordinator's loop: telling a run's agents to go, to change rate or to end,
its progress events once a second, and its final report when every agent is through. The run's
own figures are ``load.run.LoadRun``; the ops that start and steer runs are ``routes.load``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.load.rejoin import rejoin_share
from coordinator.server.load.report import live, report
from coordinator.server.load.run import LoadRun

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator
    from coordinator.server.registry import AgentRecord


def send_event(server: Coordinator, run: LoadRun, op: str, data: dict[str, Any]) -> None:
    run.seq += 1
    ev = proto.evt(op, run.run, run.seq, data)
    frame = proto.encode(ev)
    if run.owner is not None:
        server.events.send_frame(run.owner, frame)
    server.events.publish(ev, frame, run.owner)

def tell_agents(server: Coordinator, run: LoadRun, op: str, op_id: str) -> None:
    """Send ``op`` to every agent still in the run (replies are not awaited)."""
    for name in run.agents:
        agent = server.registry.by_name.get(name)
        if agent is not None and agent.alive and name not in run.done:
            args = {"run": run.run}
            server.pipeline.forward(None, proto.req(op, args, op_id), agent, args, lambda rep: None)

def release(server: Coordinator, run: LoadRun) -> None:
    """Let the run's agents start calling."""
    run.release(server.clock())
    tell_agents(server, run, "load.agent_go", f"go-{run.run}")

def release_when_registered(server: Coordinator, run: LoadRun, now: float) -> None:
    """A registrar run: let the agents call once every identity is registered; end the run
    if a registration fails or takes too long."""
    verdict = run.registration(now)
    if verdict == "go":
        release(server, run)
    elif verdict != "wait":
        run.end_reason = verdict
        end_run(server, run, f"end-{run.run}")

def close_the_ring(server: Coordinator, run: LoadRun, lost: str) -> None:
    """A self-answering run lost an agent: the agent that called it calls, from now on, the
    next answering agent of the ring that is still in the run."""
    ring = [n for n in run.agents if "answer" in run.shares[n]]
    if lost not in ring:
        return
    live = [n for n in ring if n not in run.lost_agents and n not in run.refused]
    if not live:
        return
    gone = _answer_uri(run, lost)
    after = ring[ring.index(lost) + 1:] + ring[:ring.index(lost)]
    heir = next(n for n in after if n in live)
    for name in live:
        caller = run.shares[name].get("caller")
        agent = server.registry.by_name.get(name)
        if caller is None or caller.get("targets") != [gone] or agent is None or not agent.alive:
            continue
        caller["targets"] = [_answer_uri(run, heir)]
        args = {"run": run.run, "targets": caller["targets"], "lost": [gone]}
        server.pipeline.forward(None, proto.req("load.agent_targets", args, f"ring-{run.run}"),
                                agent, args, lambda rep: None)


def rejoin(server: Coordinator, agent: AgentRecord) -> None:
    """A replacement for an agent a live run lost (same name, as supervisord restarts it):
    it takes the lost agent's part again (what is left of its calls or of the run's time; its
    answering identity at its new address), and the agent before it in the ring calls it."""
    now = server.clock()
    for run in server.loads.values():
        if agent.name not in run.lost_agents or run.ending or run.adopted:
            continue
        share = rejoin_share(run, agent.name, agent.sip_hostport(), now)
        if share is None:
            continue
        kept = {**(server.access.owner_args(run.owner) if run.owner else {}),
                "profile": run.profile.public()}

        def done(rep: proto.Message, run: LoadRun = run, share: dict[str, Any] = share) -> None:
            if rep.ok and not run.ending:
                run.rejoined(agent.name, share)
                _ring_to(server, run, agent.name)

        args = {**share, **kept}
        server.pipeline.forward(None, proto.req("load.agent_start", args, f"rejoin-{run.run}"),
                                agent, args, done)


def _ring_to(server: Coordinator, run: LoadRun, name: str) -> None:
    """The live agent before ``name`` in the ring calls ``name`` (back) from now on (a run
    through a SIP front: the front finds it again by itself)."""
    ring = [n for n in run.agents if "answer" in run.shares[n]]
    if name not in ring or run.profile.front:
        return
    before = ring[:ring.index(name)][::-1] + ring[ring.index(name) + 1:][::-1]
    caller = next((n for n in before if n not in run.lost_agents and n not in run.refused), None)
    agent = server.registry.by_name.get(caller or "")
    part = run.shares[caller].get("caller") if caller else None
    if agent is None or part is None:
        return
    part["targets"] = [_answer_uri(run, name)]
    args = {"run": run.run, "targets": part["targets"]}
    server.pipeline.forward(None, proto.req("load.agent_targets", args, f"ring-{run.run}"),
                            agent, args, lambda rep: None)


def _answer_uri(run: LoadRun, name: str) -> str:
    return str(run.shares[name]["answer"]["ids"][0]["uri"])


def end_run(server: Coordinator, run: LoadRun, op_id: str) -> None:
    """Tell every agent still in the run to finish."""
    run.ending = True
    tell_agents(server, run, "load.agent_end", op_id)

def upkeep(server: Coordinator, now: float) -> None:
    """Per turn: progress events, ending runs whose callers are through, final reports."""
    for run_id, run in list(server.loads.items()):
        progress = run.tick(now)
        if progress is not None:
            send_event(server, run, "load.progress", {**progress, **live(run)})
        if run.adopted and server.adoption.open:
            continue  # agents of the run may still come back: nothing ends before they do
        if not run.released and not run.ending and run.profile.registrar:
            release_when_registered(server, run, now)
        if run.should_end():
            end_run(server, run, f"end-{run_id}")
        if run.finished():
            del server.loads[run_id]
            server.load_totals.add(run)
            send_event(server, run, "load.done", {"report": report(run, now)})
