"""`callfleet load` and `callfleet run`: their options, the run's profile, and every check made
before anything starts: the profile as the coordinator would check it (the same field rules
and the same profile parser), the thresholds, and every output path (a report that cannot be
written is known before the run, not after it)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import proto
from coordinator.cli import metrics_options
from coordinator.cli.credentials import parse_credentials
from coordinator.cli.options import nonneg, nonneg_int, percent, positive
from coordinator.cli.urls import client_url, hostport
from coordinator.cli.verdict import EXIT_CODES, Criteria, step_limit
from coordinator.client import scenarios
from coordinator.server.load.plan import parse_profile
from proto import ProtoError, curve, extras

#: what the chart and HTML outputs need beyond the base install
REPORT_MODULES = ("matplotlib", "jinja2")


#: the options of the built-in flow (which --scenario replaces), with their defaults
FLOW_DEFAULTS: dict[str, Any] = {"hold": "1", "hangup": "caller", "dtmf": "",
                                 "dtmf_method": "rfc2833", "answer_delay": 0.0,
                                 "answer_code": "200"}


class Unusable(Exception):
    """An option that makes the run impossible: one line for the user, exit 2."""


def profile_of(args: argparse.Namespace) -> dict[str, Any]:
    """The load.start arguments the options ask for (credentials read from their file)."""
    p: dict[str, Any] = {"rate": args.rate, "ramp": args.ramp, "calls": args.calls,
                         "duration": args.duration, "max_concurrent": args.max_concurrent}
    if args.data and not args.scenario:
        raise Unusable("--data gives variables to a scenario's steps: give --scenario too")
    if args.data:
        try:
            p["data"] = scenarios.read_data(args.data)
        except scenarios.BadScenario as exc:
            raise Unusable(f"--data {exc}") from None
    if args.scenario:
        try:
            p["scenario"] = scenarios.read(args.scenario, tuple(p["data"][0]) if args.data
                                           else ())
        except scenarios.BadScenario as exc:
            raise Unusable(f"--scenario {exc}") from None
        given = [f"--{name.replace('_', '-')}" for name, default in FLOW_DEFAULTS.items()
                 if getattr(args, name) != default]
        if given:
            raise Unusable(f"--scenario replaces {', '.join(given)}: put it in the scenario")
    else:
        p.update(hold=args.hold, hangup=args.hangup)
        if args.dtmf:
            p.update(dtmf=args.dtmf, dtmf_method=args.dtmf_method)
    if args.callers:
        p["callers"] = args.callers
    if args.media != "silence":
        p["media"] = args.media
    if args.registrar:
        try:
            p["credentials"] = parse_credentials(Path(args.credentials).read_text())
        except (OSError, ValueError) as exc:
            raise Unusable(f"--credentials {args.credentials}: {exc}") from None
        p["registrar"] = args.registrar
    if args.rel100 != "no":
        p["require_100rel"] = args.rel100
    if args.timers:
        p.update({"use_timer": "always", "timer_se": args.timers})
    if args.srtp != "disabled":
        p.update({"use_srtp": args.srtp, "srtp_keying": args.srtp_keying})
    if args.target:
        p["targets"] = args.target
    elif "scenario" in p and p["scenario"]["caller"][0].get("to") and not args.self:
        pass  # the call step names each call's target
    else:
        p["self"] = True
        if not args.scenario:
            p.update({"answer_delay": args.answer_delay, "answer_codes": args.answer_code})
        if args.via_front:
            host, port = args.via_front
            p["front"] = f"sip:[{host}]:{port}" if ":" in host else f"sip:{host}:{port}"
    return p


def criteria_of(args: argparse.Namespace) -> Criteria:
    return Criteria(max_failed_pct=args.max_failed_pct,
                    min_rate_pct=None if args.min_rate_pct == 0 else args.min_rate_pct,
                    max_setup_p95_ms=args.max_setup_p95, min_mos=args.min_mos,
                    max_step_p95=tuple(args.max_step_p95))


def outputs(args: argparse.Namespace) -> dict[str, Path]:
    return {opt: Path(getattr(args, opt)) for opt in ("report", "csv", "plot", "html")
            if getattr(args, opt)}


def check(args: argparse.Namespace) -> dict[str, Any]:
    """The run's profile, once every option is known to be usable; raises Unusable."""
    if bool(args.registrar) != bool(args.credentials):
        raise Unusable("--registrar and --credentials go together")
    if args.target and args.self:
        raise Unusable("give either --target or --self")
    if args.via_front and (args.target or args.registrar):
        raise Unusable("--via-front is for --self runs without --registrar")
    problem = metrics_options.load_problem(args)  # before any fleet
    if problem:
        raise Unusable(problem)
    profile = profile_of(args)
    try:
        proto.check_request(proto.req("load.start", profile, "check"))
        flow = parse_profile(profile).flow
    except ProtoError as exc:
        raise Unusable(exc.msg) from None
    for key, _ in args.max_step_p95:
        if not any(key in (step["op"], f"{leg}.{i}") for leg in ("caller", "callee")
                   for i, step in enumerate(flow[leg], 1)):
            raise Unusable(f"--max-step-p95 {key}: the run's scenario has no such step (see "
                           "`callfleet scenario check`)")
    outs = outputs(args)
    if {"plot", "html"} & set(outs) and extras.missing(*REPORT_MODULES):
        raise Unusable(f"--plot and --html need the report extra: {extras.missing(*REPORT_MODULES)}")
    for opt, path in outs.items():
        _writable(f"--{opt}", path)
    return profile


def _writable(opt: str, path: Path) -> None:
    if path.is_dir():
        raise Unusable(f"{opt} {path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise Unusable(f"{opt} {path}: no directory {parent}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise Unusable(f"{opt} {path}: not writable")


def add_options(p: argparse.ArgumentParser) -> None:
    p.epilog = EXIT_CODES
    p.add_argument("-r", "--rate", type=positive, default=10.0, help="calls per second")
    p.add_argument("--ramp", type=nonneg, default=0.0, help="seconds of linear ramp to the rate")
    p.add_argument("-m", "--calls", type=nonneg_int, default=0,
                   help="total calls (0: until --duration)")
    p.add_argument("--duration", type=nonneg, default=0.0, help="seconds to keep calling")
    p.add_argument("-l", "--max-concurrent", type=nonneg_int, default=0,
                   help="most calls up at once (0: what the fleet holds)")
    p.add_argument("--scenario", default="", metavar="FILE", help="the calls' flow: a scenario "
                   "file (.yaml or .json; see `callfleet scenario check`), instead of --hold, "
                   "--hangup, --dtmf, --dtmf-method, --answer-delay and --answer-code")
    p.add_argument("--data", default="", metavar="CSV", help="per-call data for --scenario: "
                   "a header row of column names, then a row per call; each column is a "
                   "variable of the caller's steps, e.g. to: sip:${ext}@pbx (as SIPp's -inf)")
    p.add_argument("-d", "--hold", default="1", help="hold time: S, exp:MEAN or uniform:A:B")
    p.add_argument("--target", action="append", default=[], help="URI to call (repeatable)")
    p.add_argument("--self", action="store_true", help="the fleet answers its own calls (the "
                   "default when no --target is given)")
    p.add_argument("--via-front", type=hostport, default=None, metavar="HOST:PORT",
                   help="--self: call the answering agents through this SIP front (callfleet "
                        "front), as an outside caller would")
    p.add_argument("--answer-delay", type=nonneg, default=0.0, help="ringing seconds (self)")
    p.add_argument("--answer-code", default="200", help="answer code mix, e.g. 200:90,486:10")
    p.add_argument("--hangup", choices=("caller", "callee"), default="caller")
    p.add_argument("--dtmf", default="", help="digits sent after answer (checked at the far "
                   "end with --self)")
    p.add_argument("--dtmf-method", choices=("rfc2833", "info"), default="rfc2833")
    p.add_argument("--callers", type=nonneg_int, default=0, help="calling identities over the "
                   "fleet (0: one per agent)")
    p.add_argument("--registrar", default="", help="registrar URI every identity registers "
                   "with (and routes its calls through)")
    p.add_argument("--credentials", default="", help="CSV file of identities for --registrar: "
                   "user,password[,domain] per line (callers first, then one answering "
                   "identity per agent with --self)")
    p.add_argument("--100rel", dest="rel100", choices=("no", "optional", "mandatory"),
                   default="no", help="reliable provisional responses (PRACK) on every identity")
    p.add_argument("--timers", type=nonneg_int, default=0, metavar="SECONDS",
                   help="session timers on every call: Session-Expires SECONDS (>= 90), "
                        "refreshed at half of it (0: none)")
    p.add_argument("--srtp", choices=("disabled", "optional", "mandatory"), default="disabled",
                   help="SRTP for every call's media")
    p.add_argument("--srtp-keying", choices=("sdes", "dtls", "sdes,dtls", "dtls,sdes"),
                   default="sdes", help="with --srtp: how keys are exchanged (SDES keys travel "
                                        "in the SDP: use it over TLS)")
    p.add_argument("--media", default="silence", help="what calls send: silence, tone "
                   "(checked at the end that hangs up) or wav:PATH (looped; the file must "
                   "exist on every agent's host)")
    _fleet_options(p)
    _verdict_options(p)
    _output_options(p)


def _fleet_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--coordinator", type=client_url, default="",
                   help="the fleet's coordinator (clients URL); "
                   "default: $CALLFLEET_COORDINATOR, else the one answering on "
                   "tcp://127.0.0.1:5601, else an embedded fleet")
    p.add_argument("--embedded", action="store_true", help="always start an embedded fleet")
    p.add_argument("--agents", type=nonneg_int, default=0,
                   help="embedded fleet size (0: enough for the run)")
    curve.add_options(p)
    metrics_options.add_options(p, "an embedded fleet (implied): ")


def _verdict_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-failed-pct", type=percent, default=0.0,
                   help="most failed or lost calls, %% of attempted")
    p.add_argument("--min-rate-pct", type=percent, default=95.0,
                   help="least rate achieved, %% of the rate asked (0: not checked)")
    p.add_argument("--max-setup-p95", type=positive, default=None, metavar="MS",
                   help="most setup time, 95th percentile, in ms")
    p.add_argument("--min-mos", type=positive, default=None,
                   help="least median MOS of the measured calls")
    p.add_argument("--max-step-p95", type=_step_limit, action="append", default=[],
                   metavar="STEP=TIME", help="most time from the step before, 95th percentile, "
                   "of a scenario step: a kind (every step of it) or LEG.N, e.g. "
                   "expect_dtmf=500ms or caller.3=1.5s (repeatable)")


def _step_limit(text: str) -> tuple[str, float]:
    try:
        return step_limit(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--report", default="", help="write the JSON report here")
    p.add_argument("--csv", default="", help="write the timeseries here, a row per second "
                   "as the run goes")
    p.add_argument("--plot", default="", help="write a PNG of the run's charts here")
    p.add_argument("--html", default="", help="write a self-contained HTML report here")
    p.add_argument("--quiet", action="store_true", help="no live progress, only the result")
