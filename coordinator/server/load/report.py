"""A load run's report (load.done): its totals, outcomes, failures by code and by status line,
setup and duration percentiles, media, registration, each agent's part and the timeseries.

Every attempted call is in exactly one outcome: ``completed + failed + lost == attempted``
once the run is over (``active`` says how many were still up when the report was written: 0
for a run that ended). ``success`` is SIPp's own verdict (every call answered, nothing lost);
the command line adds its thresholds on top (``coordinator.cli.verdict``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from coordinator.server.load.run import LoadRun


def report(run: LoadRun, now: float) -> dict[str, Any]:
    elapsed = max(1e-9, now - run.started_at)
    failed = sum(run.failed.values())
    planned = run.profile.calls
    active = sum(run.active.values())
    return {
        "run": run.run, "agents": run.agents, "lost_agents": run.lost_agents,
        "replaced_agents": run.replaced_agents,
        "refused_agents": run.refused, "stopped": run.stopped_by_user,
        "profile": run.profile.public(), "end_reason": run.end_reason,
        "elapsed_s": round(elapsed, 3), "attempted": run.started, "answered": run.answered,
        "completed": run.completed, "failed": failed, "lost": run.lost, "active": active,
        "failed_by_code": dict(run.failed), "failed_by_reason": dict(run.reasons),
        "unplaced": max(0, planned - run.started) if planned else 0,
        "asr": round(run.answered / run.started, 4) if run.started else 0.0,
        **rates(run),
        "delayed_for_capacity": run.delayed, "incoming": run.incoming,
        "setup_ms": run.setup.summary_ms(), "duration_ms": run.duration.summary_ms(),
        "media": media(run),
        "dtmf": {"digits": run.profile.dtmf, "verified": run.dtmf_ok, "missed": run.dtmf_missed},
        "tone": {"heard": run.tone_heard, "missed": run.tone_missed,
                 "unchecked": run.tone_unchecked},
        "registration": registration(run) if run.profile.registrar else None,
        "scenario": run.profile.scenario, "steps": run.steps.summary(),
        "transferred": run.transferred,
        "timeseries": run.series.rows, "by_agent": by_agent(run),
        "success": (failed == 0 and run.started > 0 and run.answered == run.started
                    and run.lost == 0 and run.dtmf_missed == 0 and run.tone_missed == 0
                    and run.steps.fatal() == 0
                    and not run.end_reason and not run.lost_agents
                    and (not planned or run.started == planned)),
    }


def rates(run: LoadRun) -> dict[str, Any]:
    """The rate asked for and the rate achieved over the time the calls took (``calling_s``,
    measured on the agents' clocks): ``achieved_pct`` is the calls started against the calls
    the rate asked for in that time (ramp and rate changes included)."""
    window = run.calling_s()
    asked = run.asked_calls(window)
    return {"target_rate": run.rate, "calling_s": round(window, 3),
            "asked_calls": round(asked, 2),
            "asked_rate": round(asked / window, 3) if window > 0 else 0.0,
            "achieved_rate": round(run.started / window, 3) if window > 0 else 0.0,
            "achieved_pct": round(100 * run.started / asked, 2) if asked > 0 else 0.0}


def by_agent(run: LoadRun) -> list[dict[str, Any]]:
    """Each agent's part, by name: calls it started, answered (as caller), answered as
    callee, failed. A list, not a map keyed by agent: a map holds at most MAX_MAP keys."""
    return [{"agent": agent, **{key: run.by_agent.get(agent, Counter())[key]
                                for key in ("started", "answered", "incoming", "failed")}}
            for agent in run.agents]


def live(run: LoadRun) -> dict[str, Any]:
    """What each load.progress event carries beyond its timeseries row: failures by code, the
    scenario's steps and each agent's part so far (with the calls it placed that are up now),
    for live views."""
    return {"failed_by_code": dict(run.failed), "lost_agents": list(run.lost_agents),
            "scenario": run.profile.scenario, "steps": run.steps.summary(),
            "replaced_agents": list(run.replaced_agents),
            "by_agent": [dict(part, active=run.active.get(part["agent"], 0))
                         for part in by_agent(run)]}


def media(run: LoadRun) -> dict[str, Any]:
    """RTP loss (%), jitter (ms) and MOS across the measured calls."""
    sent = run.rtp_rx + run.rtp_lost
    return {"calls_measured": run.media_calls, "rtp_packets": run.rtp_rx,
            "rtp_lost": run.rtp_lost,
            "loss_pct": round(100 * run.rtp_lost / sent, 4) if sent else 0.0,
            "loss_pct_per_call": {f"p{p}": round(run.loss_pm.percentile(p) / 10, 3)
                                  for p in (50, 95, 99)},
            "jitter_ms": {f"p{p}": round(run.jitter.percentile(p) / 1000, 3)
                          for p in (50, 95, 99)},
            "mos": {"p5": round(run.mos.percentile(5) / 1000, 3),
                    "p50": round(run.mos.percentile(50) / 1000, 3)}}


def registration(run: LoadRun) -> dict[str, Any]:
    failed: Counter[str] = Counter()
    for codes in run.reg_failed.values():
        failed.update(codes)
    return {"identities": sum(run.identities.values()),
            "registered": sum(run.registered.values()), "failed_by_code": dict(failed)}
