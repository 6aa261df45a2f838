"""`callfleet load` (SIPp-like options, live status, final report) and `callfleet run` (the main
job: a short self-answering run on an embedded fleet)."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

from coordinator.cli import metrics_options
from coordinator.cli.credentials import parse_credentials
from coordinator.cli.plot import chart
from coordinator.client import Error, Lib
from proto import ProtoError, curve
from proto.dist import parse_dist

#: most agents an embedded fleet gets by default on one host
MAX_AUTO_AGENTS = 32


def auto_agents(profile: dict[str, Any]) -> int:
    """Enough agents for the run's concurrency: rate x (hold + setup), 4 slots each (2 per
    direction when the fleet answers itself)."""
    hold = parse_dist(str(profile.get("hold", "1"))).mean
    concurrent = profile["rate"] * (hold + 0.3)
    if profile.get("max_concurrent"):
        concurrent = min(concurrent, profile["max_concurrent"])
    per_agent = 2 if profile.get("self") else 4
    # an agent holds 8 accounts: its calling identities and (self) one answering identity
    identities = math.ceil(int(profile.get("callers") or 0) / (7 if profile.get("self") else 8))
    return int(max(1, identities, min(MAX_AUTO_AGENTS, math.ceil(concurrent / per_agent))))


def profile_of(args: argparse.Namespace) -> dict[str, Any]:
    p: dict[str, Any] = {"rate": args.rate, "ramp": args.ramp, "calls": args.calls,
                         "duration": args.duration, "max_concurrent": args.max_concurrent,
                         "hold": args.hold, "hangup": args.hangup}
    if args.dtmf:
        p.update(dtmf=args.dtmf, dtmf_method=args.dtmf_method)
    if args.callers:
        p["callers"] = args.callers
    if args.media != "silence":
        p["media"] = args.media
    if args.registrar:
        p["registrar"] = args.registrar
        p["credentials"] = parse_credentials(Path(args.credentials).read_text())
    if args.target:
        p["targets"] = args.target
    else:
        p.update({"self": True, "answer_delay": args.answer_delay,
                  "answer_codes": args.answer_code})
    return p


def status_line(p: dict[str, Any]) -> str:
    return (f"{p['elapsed']:7.1f}s  started {p['started']:6d}  answered {p['answered']:6d}  "
            f"failed {p['failed']:5d}  up {p['active']:4d}  rate {p['rate']:6.1f}/s "
            f"(target {p['target_rate']:g})  setup p50 {p['setup_p50_ms']:.1f} ms "
            f"p95 {p['setup_p95_ms']:.1f} ms" + (f"  waited {p['delayed']}" if p["delayed"] else ""))


def format_report(r: dict[str, Any]) -> str:
    s, d = r["setup_ms"], r["duration_ms"]
    lines = [
        f"run {r['run']} on {len(r['agents'])} agents, {r['elapsed_s']:.1f} s"
        + (" (stopped)" if r["stopped"] else ""),
        f"  attempted      {r['attempted']}",
        f"  answered       {r['answered']}   ASR {100 * r['asr']:.1f}%",
        f"  failed         {r['failed']}   " + (", ".join(
            f"{code}: {n}" for code, n in sorted(r["failed_by_code"].items())) or "-"),
        *(f"    {n:>6}  {text}" for text, n in sorted(
            (r.get("failed_by_reason") or {}).items(), key=lambda kv: -kv[1])),
        f"  achieved rate  {r['achieved_rate']:.2f} calls/s",
        f"  setup time     p50 {s['p50']:.1f}  p90 {s['p90']:.1f}  p99 {s['p99']:.1f}  "
        f"max {s['max']:.1f} ms",
        f"  call duration  p50 {d['p50'] / 1000:.2f}  p99 {d['p99'] / 1000:.2f}  "
        f"max {d['max'] / 1000:.2f} s",
    ]
    m = r.get("media") or {}
    if m.get("calls_measured"):
        lines.append(f"  media          {m['calls_measured']} calls, RTP loss {m['loss_pct']:.3f}% "
                     f"(per call p95 {m['loss_pct_per_call']['p95']:.2f}%), jitter p95 "
                     f"{m['jitter_ms']['p95']:.1f} ms, MOS p50 {m['mos']['p50']:.2f} "
                     f"p5 {m['mos']['p5']:.2f}")
    dt = r.get("dtmf") or {}
    if dt.get("digits"):
        lines.append(f"  DTMF           {dt['digits']!r}: verified {dt['verified']}, "
                     f"missed {dt['missed']}")
    tone = r.get("tone") or {}
    if tone.get("heard") or tone.get("missed"):
        lines.append(f"  tone           heard on {tone['heard']} calls, missed on {tone['missed']}")
    reg = r.get("registration")
    if reg:
        lines.append(f"  registration   {reg['registered']} of {reg['identities']} identities "
                     "registered" + ("".join(f", {n} x {c}" for c, n in
                                             sorted(reg["failed_by_code"].items()))))
    if r.get("end_reason"):
        lines.append(f"  ended early    {r['end_reason']}")
    if r["delayed_for_capacity"]:
        lines.append(f"  fleet full: {r['delayed_for_capacity']} calls waited for a free slot "
                     "(add agents for the full rate)")
    if r["unplaced"]:
        lines.append(f"  not placed     {r['unplaced']} calls")
    if r["lost_agents"]:
        lines.append(f"  lost agents    {', '.join(r['lost_agents'])}")
    lines.append("  result         " + ("PASS" if r["success"] else "FAIL"))
    return "\n".join(lines)


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t", "rate", "started", "answered", "failed",
                                          "active", "setup_p50_ms", "setup_p95_ms"])
        w.writeheader()
        w.writerows(rows)


def cmd_load(args: argparse.Namespace) -> int:
    metrics_problem = metrics_options.load_problem(args)  # metrics: checked before any fleet
    if metrics_problem:
        print(f"callfleet load: {metrics_problem}", file=sys.stderr)
        return 2
    if bool(args.registrar) != bool(args.credentials):
        print("callfleet load: --registrar and --credentials go together", file=sys.stderr)
        return 2
    try:
        profile = profile_of(args)
    except (OSError, ValueError) as exc:
        print(f"callfleet load: --credentials {args.credentials}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.coordinator:
            lib = Lib.connect(args.coordinator, server_key=args.server_key, key=args.key)
        else:
            n = args.agents or auto_agents(profile)
            print(f"callfleet load: embedded fleet of {n} agents", flush=True)
            lib = Lib.start_local(agents=n, coordinator_args=metrics_options.coordinator_args(args))
            if lib.fleet is not None and lib.fleet.metrics_url:
                print(f"callfleet load: Prometheus metrics at {lib.fleet.metrics_url}", flush=True)
    except (Error, ProtoError) as exc:
        print(f"callfleet load: {exc}", file=sys.stderr)
        return 2
    try:
        report = lib.run_load(profile, on_progress=lambda p: print(status_line(p), flush=True))
    except Error as exc:
        print(f"callfleet load: {exc}", file=sys.stderr)
        return 2
    finally:
        lib.destroy()
    print(format_report(report))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2))
    if args.csv:
        write_csv(Path(args.csv), report["timeseries"])
    if args.plot:
        Path(args.plot).write_bytes(chart(report["timeseries"]))
    return 0 if report["success"] else 1


def _load_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--rate", type=float, default=10.0, help="calls per second")
    p.add_argument("--ramp", type=float, default=0.0, help="seconds of linear ramp to the rate")
    p.add_argument("-m", "--calls", type=int, default=0, help="total calls (0: until --duration)")
    p.add_argument("--duration", type=float, default=0.0, help="seconds to keep calling")
    p.add_argument("-l", "--max-concurrent", type=int, default=0, help="most calls up at once")
    p.add_argument("-d", "--hold", default="1", help="hold time: S, exp:MEAN or uniform:A:B")
    p.add_argument("--target", action="append", default=[], help="URI to call (repeatable)")
    p.add_argument("--self", action="store_true", help="the fleet answers its own calls (default "
                   "when no --target is given)")
    p.add_argument("--answer-delay", type=float, default=0.0, help="ringing seconds (self)")
    p.add_argument("--answer-code", default="200", help="answer code mix, e.g. 200:90,486:10")
    p.add_argument("--hangup", choices=("caller", "callee"), default="caller")
    p.add_argument("--dtmf", default="", help="digits sent after answer (checked at the far end "
                   "with --self)")
    p.add_argument("--dtmf-method", choices=("rfc2833", "info"), default="rfc2833")
    p.add_argument("--callers", type=int, default=0, help="calling identities over the fleet "
                   "(default: one per agent)")
    p.add_argument("--registrar", default="", help="registrar URI every identity registers with "
                   "(and routes its calls through)")
    p.add_argument("--credentials", default="", help="CSV file of identities for --registrar: "
                   "user,password[,domain] per line (callers first, then one answering "
                   "identity per agent with --self)")
    p.add_argument("--media", default="silence", help="what calls send: silence, tone (checked "
                   "at the end that hangs up) or wav:PATH (looped; the file must exist on every "
                   "agent's host)")
    p.add_argument("--agents", type=int, default=0, help="embedded fleet size (default: enough)")
    p.add_argument("--coordinator", default="", help="use this coordinator instead")
    curve.add_options(p)
    p.add_argument("--report", default="", help="write the JSON report here")
    p.add_argument("--csv", default="", help="write the per-second timeseries here")
    p.add_argument("--plot", default="", help="write a PNG chart of rate, concurrency and setup "
                   "time here")
    metrics_options.add_options(p, "embedded fleet: ")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = sub.add_parser("load", help="a load run: many calls at a set rate, with a report")
    _load_options(load)
    load.set_defaults(func=cmd_load)
    run = sub.add_parser("run", help="the main job: a short self-answering run, embedded fleet")
    _load_options(run)
    run.set_defaults(func=cmd_load, calls=100, rate=10.0, hold="1", agents=8)
