"""The verdict of a load run (pure): each criterion, its value, its limit, pass or fail; and the
command's exit code.

The defaults are SIPp's spirit: every call must succeed (no failed and no lost call), every
planned call must be placed, DTMF and tone checks must all hold. On top: the rate achieved
against the rate asked (on by default, 95%, since a run that places a third of what was asked
did not test what was asked), and optional limits on setup time and MOS.

Exit codes (as SIPp documents its own): 0 every criterion passed; 1 a criterion failed; 2 the
run could not be made (bad input, no fleet, refused); 3 interrupted (the run was stopped by
Ctrl-C or SIGTERM; the reports are written and marked so)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3

#: the exit codes, as ``--help`` and the README list them
EXIT_CODES = (f"exit codes: {EXIT_PASS} every criterion passed, {EXIT_FAIL} a criterion failed, "
              f"{EXIT_ERROR} the run could not be made, {EXIT_INTERRUPTED} interrupted (reports "
              "written, marked interrupted)")


@dataclass(frozen=True)
class Criteria:
    max_failed_pct: float = 0.0
    #: None: not checked
    min_rate_pct: float | None = 95.0
    max_setup_p95_ms: float | None = None
    min_mos: float | None = None
    #: (step, ms): the 95th percentile of a scenario step's time from the step before, at
    #: most ms; the step is a kind (every step of it) or LEG.N (caller.3)
    max_step_p95: tuple[tuple[str, float], ...] = ()


_STEP_LIMIT = re.compile(r"([a-z_]+|(?:caller|callee)\.[1-9][0-9]*)=([0-9]+(?:\.[0-9]+)?)(ms|s)?")


def step_limit(text: str) -> tuple[str, float]:
    """``STEP=TIME`` of --max-step-p95: a step kind or LEG.N, and a time in ms (``500``,
    ``500ms``) or s (``1.5s``); raises ValueError."""
    m = _STEP_LIMIT.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not STEP=TIME (expect_dtmf=500ms, caller.3=1.5s)")
    value = float(m.group(2)) * (1000.0 if m.group(3) == "s" else 1.0)
    return m.group(1), value


def _matches(step: dict[str, Any], key: str) -> bool:
    return key == step["op"] or key == f"{step['leg']}.{step['step']}"


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    limit: str
    passed: bool

    def to_wire(self) -> dict[str, Any]:
        return {"criterion": self.name, "value": self.value, "limit": self.limit,
                "passed": self.passed}


def _pct(n: float, of: float) -> float:
    return 100.0 * n / of if of else 0.0


def checks(report: dict[str, Any], c: Criteria) -> list[Check]:
    """Every criterion that applies to this run, in the order the table shows them."""
    attempted = report["attempted"]
    bad = report["failed"] + report.get("lost", 0)
    out = [Check("calls placed", f"{attempted}", "> 0", attempted > 0)]
    if report.get("unplaced") and not report.get("stopped"):
        out.append(Check("planned calls placed", f"{report['unplaced']} not placed", "all",
                         False))
    out.append(Check("failed calls", f"{bad} of {attempted} ({_pct(bad, attempted):.1f}%)",
                     f"<= {c.max_failed_pct:g}%",
                     attempted > 0 and _pct(bad, attempted) <= c.max_failed_pct))
    if c.min_rate_pct is not None:
        pct = float(report.get("achieved_pct") or 0.0)
        out.append(Check("rate achieved", f"{report.get('achieved_rate', 0):.2f}/s of "
                         f"{report.get('asked_rate', 0):.2f}/s asked ({pct:.1f}%)",
                         f">= {c.min_rate_pct:g}%", pct >= c.min_rate_pct))
    if c.max_setup_p95_ms is not None:
        p95 = float(report["setup_ms"]["p95"])
        out.append(Check("setup time p95", f"{p95:.1f} ms", f"<= {c.max_setup_p95_ms:g} ms",
                         report["setup_ms"]["count"] > 0 and p95 <= c.max_setup_p95_ms))
    if c.min_mos is not None:
        media = report.get("media") or {}
        measured = media.get("calls_measured", 0)
        mos = float((media.get("mos") or {}).get("p50", 0.0))
        out.append(Check("MOS p50", f"{mos:.2f} ({measured} calls measured)",
                         f">= {c.min_mos:g}", measured > 0 and mos >= c.min_mos))
    for key, ms in c.max_step_p95:
        steps = [s for s in report.get("steps") or [] if _matches(s, key)]
        if not steps:
            out.append(Check(f"step {key} p95", "no such step in the run", f"<= {ms:g} ms",
                             False))
        for s in steps:
            p95 = float(s["time_ms"]["p95"])
            out.append(Check(f"{s['leg']} step {s['step']} ({s['op']}) p95",
                             f"{p95:.1f} ms ({s['ok'] + s['failed']} calls)", f"<= {ms:g} ms",
                             s["ok"] + s["failed"] > 0 and p95 <= ms))
    out.extend(_checks_of_the_run(report))
    return out


def _checks_of_the_run(report: dict[str, Any]) -> list[Check]:
    """What the run itself verifies: DTMF digits, tones, the scenario's steps (each step a
    failure of which fails the run), an early end."""
    out = []
    dtmf = report.get("dtmf") or {}
    if dtmf.get("verified") or dtmf.get("missed"):
        out.append(Check("DTMF received", f"{dtmf['verified']} of "
                         f"{dtmf['verified'] + dtmf['missed']}", "all", dtmf["missed"] == 0))
    tone = report.get("tone") or {}
    if tone.get("heard") or tone.get("missed"):
        out.append(Check("tone heard", f"{tone['heard']} of {tone['heard'] + tone['missed']}",
                         "all", tone["missed"] == 0))
    for step in report.get("steps") or []:
        if step.get("fatal"):
            why = max(step["failed_by_reason"].items(), key=lambda kv: kv[1], default=("", 0))[0]
            out.append(Check(f"{step['leg']} step {step['step']} ({step['op']})",
                             f"{step['fatal']} of {step['ok'] + step['failed']} failed"
                             + (f", most: {why}" if why else ""), "none", False))
    if report.get("end_reason"):
        out.append(Check("ran to its end", report["end_reason"], "no early end", False))
    return out


def exit_code(found: list[Check], interrupted: bool) -> int:
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PASS if all(c.passed for c in found) else EXIT_FAIL
