"""A load run's final table, as text: the outcomes (each attempted call counted once), rates,
setup and duration, media, DTMF, tone, registration, a scenario's steps, then each criterion of the
verdict and the result. ``partial_report`` stands in for the report when the run was left before
second Ctrl-C): built from the last progress, marked incomplete."""

from __future__ import annotations

from typing import Any

from coordinator.cli.options import counted
from coordinator.cli.verdict import Check


def _outcome_lines(r: dict[str, Any]) -> list[str]:
    lines = [
        f"  attempted      {r['attempted']}",
        f"  answered       {r['answered']}   ASR {100 * r['asr']:.1f}%",
        f"  completed      {r.get('completed', 0)}",
        f"  failed         {r['failed']}   " + (", ".join(
            f"{code}: {n}" for code, n in sorted(r["failed_by_code"].items())) or "-"),
        *(f"    {n:>6}  {text}" for text, n in sorted(
            (r.get("failed_by_reason") or {}).items(), key=lambda kv: -kv[1])),
    ]
    if r.get("lost") or r.get("lost_agents"):
        lines.append(f"  lost           {r.get('lost', 0)}   (up on lost agents: "
                     f"{', '.join(r.get('lost_agents') or []) or '-'})")
    if r.get("active"):
        lines.append(f"  still up       {r['active']}")
    return lines


def _timing_lines(r: dict[str, Any]) -> list[str]:
    s, d = r["setup_ms"], r["duration_ms"]
    return [
        f"  rate           {r['achieved_rate']:.2f} calls/s achieved, "
        f"{r.get('asked_rate', 0):.2f} asked over {r.get('calling_s', 0):.1f} s "
        f"({r.get('achieved_pct', 0):.1f}%)",
        f"  setup time     p50 {s['p50']:.1f}  p95 {s.get('p95', 0):.1f}  p99 {s['p99']:.1f}  "
        f"max {s['max']:.1f} ms",
        f"  call duration  p50 {d['p50'] / 1000:.2f}  p99 {d['p99'] / 1000:.2f}  "
        f"max {d['max'] / 1000:.2f} s",
    ]


def _check_lines(r: dict[str, Any]) -> list[str]:
    lines = []
    m = r.get("media") or {}
    if m.get("calls_measured"):
        lines.append(f"  media          {m['calls_measured']} calls, RTP loss {m['loss_pct']:.3f}% "
                     f"(per call p95 {m['loss_pct_per_call']['p95']:.2f}%), jitter p95 "
                     f"{m['jitter_ms']['p95']:.1f} ms, MOS p50 {m['mos']['p50']:.2f} "
                     f"p5 {m['mos']['p5']:.2f}")
    dt = r.get("dtmf") or {}
    if dt.get("digits") or dt.get("verified") or dt.get("missed"):
        lines.append(f"  DTMF           {(repr(dt['digits']) + ': ') if dt.get('digits') else ''}"
                     f"verified {dt['verified']}, missed {dt['missed']}")
    tone = r.get("tone") or {}
    if tone.get("heard") or tone.get("missed"):
        lines.append(f"  tone           heard on {tone['heard']} calls, missed on {tone['missed']}"
                     + (f" ({tone['unchecked']} too short to check)"
                        if tone.get("unchecked") else ""))
    reg = r.get("registration")
    if reg:
        lines.append(f"  registration   {reg['registered']} of {reg['identities']} identities "
                     "registered" + "".join(f", {n} x {c}" for c, n in
                                            sorted(reg["failed_by_code"].items())))
    if r.get("transferred"):
        lines.append(f"  transferred    {r['transferred']} calls (REFERs accepted: each a new "
                     "call, with the transferee's steps)")
    if r.get("end_reason"):
        lines.append(f"  ended early    {r['end_reason']}")
    if r.get("delayed_for_capacity"):
        lines.append(f"  fleet full: {r['delayed_for_capacity']} times a due call waited for a "
                     "free slot (add agents for the full rate)")
    if r.get("unplaced"):
        lines.append(f"  not placed     {r['unplaced']} calls")
    return lines


def _step_lines(r: dict[str, Any]) -> list[str]:
    """A scenario's steps: calls that passed each, failed it (why), time from the step before.
    The built-in flow's steps are in the JSON report only."""
    steps = r.get("steps") or []
    if r.get("scenario", "built-in") == "built-in" or not steps:
        return []
    lines = [f"  scenario       {r['scenario']}"]
    width = max(len(s["op"]) for s in steps)
    for s in steps:
        t = s["time_ms"]
        why = ", ".join(f"{k}: {n}" for k, n in sorted(s["failed_by_reason"].items(),
                                                       key=lambda kv: -kv[1]))
        lines.append(f"    {s['leg']:<6} {s['step']:>2} {s['op']:<{width}}  {s['ok']:>6} ok "
                     f"{s['failed']:>6} failed   +{t['p50']:.1f} ms p50, {t['p95']:.1f} p95"
                     + (f"   {s['lost']} lost" if s.get("lost") else "")
                     + (f"   ({why})" if why else ""))
    return lines


def format_report(r: dict[str, Any], found: list[Check]) -> str:
    head = (f"run {r['run']} on {counted(len(r['agents']), 'agent')}, {r['elapsed_s']:.1f} s"
            + (" (interrupted)" if r.get("interrupted") else " (stopped)" if r["stopped"] else "")
            + (" — incomplete: the run's report did not come" if r.get("incomplete") else ""))
    lines = [head, *_outcome_lines(r), *_timing_lines(r), *_check_lines(r), *_step_lines(r),
             "  verdict"]
    width = max((len(c.name) for c in found), default=10)
    for c in found:
        lines.append(f"    {'pass' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.value}  "
                     f"(limit {c.limit})")
    result = ("INTERRUPTED" if r.get("interrupted")
              else "PASS" if all(c.passed for c in found) else "FAIL")
    lines.append(f"  result         {result}")
    return "\n".join(lines)


def partial_report(run: str, profile: dict[str, Any], last: dict[str, Any]) -> dict[str, Any]:
    """What is known of a run whose report did not come: its last progress."""
    started = int(last.get("started", 0))
    answered = int(last.get("answered", 0))
    setup = {"count": answered, "p50": last.get("setup_p50_ms", 0.0), "p90": 0.0,
             "p95": last.get("setup_p95_ms", 0.0), "p99": last.get("setup_p99_ms", 0.0),
             "max": 0.0}
    public = {k: v for k, v in profile.items() if k != "credentials"}
    return {"run": run, "agents": [], "lost_agents": [], "refused_agents": {}, "stopped": True,
            "incomplete": True, "profile": public, "end_reason": "",
            "elapsed_s": float(last.get("elapsed", 0.0)), "attempted": started,
            "answered": answered, "completed": int(last.get("completed", 0)),
            "failed": int(last.get("failed", 0)), "lost": int(last.get("lost", 0)),
            "active": int(last.get("active", 0)), "failed_by_code": {}, "failed_by_reason": {},
            "unplaced": 0, "asr": round(answered / started, 4) if started else 0.0,
            "target_rate": profile.get("rate", 0.0), "calling_s": 0.0, "asked_calls": 0.0,
            "asked_rate": 0.0, "achieved_rate": float(last.get("rate_window", 0.0)),
            "achieved_pct": 0.0, "delayed_for_capacity": int(last.get("delayed", 0)),
            "incoming": 0, "setup_ms": setup,
            "duration_ms": {"count": 0, "p50": 0.0, "p90": 0.0, "p95": 0.0, "p99": 0.0,
                            "max": 0.0},
            "media": {}, "dtmf": {"digits": "", "verified": 0, "missed": 0},
            "tone": {"heard": 0, "missed": 0}, "registration": None, "timeseries": [],
            "by_agent": [], "success": False}
