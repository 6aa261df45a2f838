"""Call scenarios: a load run's call flow as data.

A scenario is a map: an optional ``name`` and, per leg, a list of steps — ``caller`` (the leg
that places the call; its first step is ``call``) and ``callee`` (the leg that answers, when the
fleet answers itself). Each step is a map with its kind under ``op`` and that kind's fields,
checked by the same field schema as every message (:mod:`proto.schema`), so any language can send
one in ``load.start`` and PROTOCOL.md documents the steps (``python -m proto.doc``).

The agents run the steps of each call themselves (``agent.load.flow``), driven by the call's
events and the agent's timers; the built-in flow (``load.start``'s hold, hangup, DTMF and answer
options) is the scenario :func:`builtin` makes of them. A leg whose steps are done waits for the
call to end (a ``hangup`` step ends it). A step that fails is counted against that step, with
its reason; its ``on_failure`` says what happens next: ``fail`` (default: the leg hangs up and
the run's verdict fails), ``end`` (the leg hangs up, the verdict does not fail) or ``skip``
(the leg goes on with the next step).
"""

from __future__ import annotations

import re
from typing import Any

from proto import limits
from proto.dist import parse_codes, parse_dist
from proto.errors import ProtoError
from proto.ops.call import DTMF_DIGITS
from proto.schema import Field, check_uri, is_wav_path, validate

#: most steps a leg may have
MAX_STEPS = 64
#: call states a ``wait`` step waits for
WAIT_STATES = ("early", "confirmed", "disconnected")
ON_FAILURE = ("fail", "end", "skip")
#: variables a step's text and header values may use: the call's number on its agent, this
#: leg's user name (of its identity's URI) and the far end's (of the target, or of the caller)
VARIABLES = ("call", "me", "peer")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
#: per-call data (load.start ``data``): rows of column -> value, each column a variable of the
#: caller's steps; at most this many rows, columns, characters per value and in all
MAX_ROWS, MAX_COLUMNS, MAX_VALUE, MAX_DATA = limits.MAX_ARRAY, 16, 256, 512 * 1024
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}$")
LEGS = ("caller", "callee", "transferee")
#: the legs that a call the run places has at its two ends
ENDS = ("caller", "callee")

_ON_FAILURE = Field("on_failure", "str", False, "what a failure of this step does: fail (hang "
                    "up, the run fails; default), end (hang up) or skip (go on)",
                    choices=ON_FAILURE)
_TIMEOUT = Field("timeout", "float", False, "seconds to wait (0 or absent: until the call ends)",
                 lo=0, hi=86400)

_REOFFER = ("; it waits for the call to be confirmed, and while another offer is under way "
            "(up to 2 s)")

#: each step kind: (the legs it may appear in, what it does, its fields)
STEPS: dict[str, tuple[tuple[str, ...], str, tuple[Field, ...]]] = {
    "call": (("caller",), "place the call to the run's next target, or to its own (the "
             "caller's first step)",
             (Field("headers", "headers", False, "extra SIP headers of the INVITE"),
              Field("to", "str", False, "the call's target, variables allowed (e.g. "
                    "sip:${ext}@pbx.example, with a column ext in the run's data); absent: the "
                    "run's targets, round robin", lo=1, hi=512))),
    "answer": (("callee",), "ring, then answer with a code from the mix (300..699: refuse)",
               (Field("codes", "str", False, "answer code or mix, e.g. 200 or 200:90,486:10 "
                      "(default 200)", lo=1, hi=256),
                Field("ring", "float", False, "seconds of 180 Ringing first", lo=0, hi=3600))),
    "wait": (LEGS, "wait until the call reaches a state",
             (Field("state", "str", True, "early (a provisional response with a tag), "
                    "confirmed or disconnected", choices=WAIT_STATES), _TIMEOUT)),
    "pause": (LEGS, "wait a while",
              (Field("s", "str", True, "seconds: a number, or S, exp:MEAN or uniform:A:B as "
                     "a string", lo=1, hi=64),)),
    "dtmf": (LEGS, "send DTMF digits (by INFO: one at a time, each INFO's 2xx awaited; the "
             "step passes on the last)",
             (Field("digits", "str", True, "digits 0-9*#A-D", lo=1, hi=32),
              Field("method", "str", False, "rfc2833 (default) or info",
                    choices=("rfc2833", "info")))),
    "expect_dtmf": (LEGS, "wait for DTMF digits from the far end (the next ones received; "
                    "different ones fail the step)",
                    (Field("digits", "str", True, "digits 0-9*#A-D", lo=1, hi=32), _TIMEOUT)),
    "tone": (LEGS, "send a tone for a while (instead of the run's media), then go on; it "
             "waits for the call to be confirmed",
             (Field("s", "float", True, "seconds", lo=0.02, hi=3600),
              Field("hz", "int", False, "frequency (default 1000)", lo=100, hi=4000))),
    "play": (LEGS, "play a WAV file instead of the run's media (once, or looped for a while), "
             "then go on; it waits for the call to be confirmed",
             (Field("file", "str", True, "the WAV file's path on every agent's host", lo=1,
                    hi=1024),
              Field("s", "float", False, "seconds, the file looped (absent: the file once)",
                    lo=0.02, hi=3600))),
    "expect_tone": (LEGS, "wait until the far end's tone is heard (a tone step there, or "
                    "play step, or media tone)", (_TIMEOUT,)),
    "message": (LEGS, "send an instant message in the call (MESSAGE) and wait for its final "
                "response: 2xx passes",
                (Field("text", "str", True, "the message (text/plain)", lo=1,
                       hi=limits.MAX_PAGER), _TIMEOUT)),
    "expect_message": (LEGS, "wait for an instant message from the far end (the next one "
                       "received; other text fails the step)",
                       (Field("text", "str", False, "the text expected (absent: any)",
                              hi=limits.MAX_PAGER), _TIMEOUT)),
    "hold": (LEGS, "put the call on hold (re-INVITE, sendonly)" + _REOFFER, ()),
    "unhold": (LEGS, "take the call off hold (re-INVITE, sendrecv)" + _REOFFER, ()),
    "reinvite": (LEGS, "a new offer by re-INVITE (same media)" + _REOFFER, ()),
    "update": (LEGS, "a new offer by UPDATE (while ringing too, once the INVITE's offer is "
               "answered: a reliable 183); it waits while another offer is under way (up to "
               "2 s)", ()),
    "transfer": (ENDS, "blind transfer (REFER) of the far end to a URI, once the call is "
                 "confirmed; passes when the far end reports its new call answered (a final "
                 "2xx NOTIFY). The far end's agent places that call and runs the transferee's "
                 "steps on it",
                 (Field("to", "uri", True, "the transfer target"), _TIMEOUT)),
    "consult": (ENDS, "place a consultation call from this leg's identity to a URI (before an "
                "attended_transfer), once the call is confirmed; passes when it is answered",
                (Field("to", "uri", True, "the transfer target to consult"),
                 Field("headers", "headers", False, "extra SIP headers of its INVITE"),
                 _TIMEOUT)),
    "attended_transfer": (ENDS, "attended transfer: REFER with Replaces, so that the far end "
                          "calls the consultation call's far end in its place (a consult step "
                          "before, its call answered); passes when the far end reports its new "
                          "call answered (a final 2xx NOTIFY). The far end's agent places that "
                          "call and runs the transferee's steps on it; the target ends the "
                          "consultation call (else this leg does, when it hangs up)",
                          (_TIMEOUT,)),
    "hangup": (LEGS, "end the call (BYE, CANCEL, or a final response with the code)",
               (Field("code", "int", False, "final response of an unanswered incoming call "
                      "(default 603)", lo=300, hi=699),)),
}


def step_fields(op: str) -> tuple[Field, ...]:
    """Every field a step of kind ``op`` may have (``op`` and ``on_failure`` included)."""
    return (Field("op", "str", True, "the step kind"), *STEPS[op][2], _ON_FAILURE)


def _check_step(leg: str, i: int, raw: Any, names: tuple[str, ...]) -> dict[str, Any]:
    where = f"{leg} step {i}"
    if not isinstance(raw, dict):
        raise ProtoError("E_BAD_ARGS", f"{where}: a step is a map with an 'op'")
    op = raw.get("op")
    if not isinstance(op, str) or op not in STEPS:
        raise ProtoError("E_BAD_ARGS", f"{where}: 'op' must be one of {', '.join(STEPS)}")
    where = f"{where} ({op})"
    pause = raw.get("s")
    if op == "pause" and isinstance(pause, (int, float)) and not isinstance(pause, bool):
        raw = {**raw, "s": repr(pause)}  # a number of seconds, as the distribution "S"
    if leg not in STEPS[op][0]:
        raise ProtoError("E_BAD_ARGS", f"{where}: not a {leg} step")
    validate(step_fields(op), raw, where)
    for key, value in raw.items():
        for text in (value.values() if isinstance(value, dict) else [value]):
            for name in _VARIABLE.findall(text) if isinstance(text, str) else ():
                if name not in names:
                    raise ProtoError("E_BAD_ARGS", f"{where}: {key!r} uses ${{{name}}}: the "
                                     "variables are " + ", ".join(f"${{{v}}}" for v in names))
    if op == "play" and not is_wav_path(raw["file"]):
        raise ProtoError("E_BAD_ARGS", f"{where}: 'file' must be an absolute path of a .wav file")
    if "digits" in raw and "${" not in raw["digits"] and not digits_ok(raw["digits"]):
        raise ProtoError("E_BAD_ARGS", f"{where}: 'digits' must be a string of 0-9*#A-D")
    if op == "call" and raw.get("to") and "${" not in raw["to"]:
        check_uri(raw["to"], f"{where}: 'to'")
    elif op == "call" and raw.get("to") and not raw["to"].lower().startswith(("sip:", "sips:")):
        raise ProtoError("E_BAD_ARGS", f"{where}: 'to' must be a sip: or sips: URI")
    try:
        if op == "pause":
            parse_dist(raw["s"])
        if op == "answer" and raw.get("codes") is not None:
            parse_codes(raw["codes"])
    except ProtoError as exc:
        raise ProtoError("E_BAD_ARGS", f"{where}: {exc.msg}") from None
    return {k: (v.upper() if k == "digits" and "${" not in v else v) for k, v in raw.items()
            if v is not None}


def digits_ok(digits: str) -> bool:
    """Whether ``digits`` are DTMF digits (either case)."""
    return bool(digits) and not set(digits.upper()) - set(DTMF_DIGITS)


def _check_leg(leg: str, raw: Any, names: tuple[str, ...] = VARIABLES) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise ProtoError("E_BAD_ARGS", f"scenario: '{leg}' must be a list of steps")
    if len(raw) > MAX_STEPS:
        raise ProtoError("E_BAD_ARGS", f"scenario: '{leg}' has more than {MAX_STEPS} steps")
    steps = [_check_step(leg, i, step, names) for i, step in enumerate(raw, 1)]
    if leg == "caller" and (not steps or steps[0]["op"] != "call"):
        raise ProtoError("E_BAD_ARGS", "caller step 1: the caller's first step must be 'call'")
    for i, step in enumerate(steps, 1):
        if step["op"] == "call" and i > 1:
            raise ProtoError("E_BAD_ARGS", f"caller step {i} (call): only the first step calls")
        if step["op"] == "attended_transfer" and not any(
                s["op"] == "consult" for s in steps[:i - 1]):
            raise ProtoError("E_BAD_ARGS", f"{leg} step {i} (attended_transfer): a consult step "
                             "must come before (the call to hand the far end over to)")
        if step["op"] == "hangup" and i < len(steps):
            raise ProtoError("E_BAD_ARGS", f"{leg} step {i + 1} ({steps[i]['op']}): "
                             "nothing runs after a hangup")
    return steps


def check(raw: Any, columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The scenario ``raw`` checked (digits upper-cased, null fields dropped); raises E_BAD_ARGS
    naming the leg, the step (from 1), its kind and the field. ``columns``: the run's data
    columns, variables of the caller's steps."""
    if not isinstance(raw, dict):
        raise ProtoError("E_BAD_ARGS", "scenario: a map of name, caller and callee")
    for key in raw:
        if key not in ("name", *LEGS):
            raise ProtoError("E_BAD_ARGS", f"scenario: unknown key {key!r} (name, "
                             + ", ".join(LEGS) + ")")
    name = raw.get("name", "")
    if not isinstance(name, str) or len(name) > 64:
        raise ProtoError("E_BAD_ARGS", "scenario: 'name' must be a string of at most 64 "
                         "characters")
    if "caller" not in raw:
        raise ProtoError("E_BAD_ARGS", "scenario: 'caller' (its steps) is missing")
    flow = {"name": name, "caller": _check_leg("caller", raw["caller"], (*VARIABLES, *columns)),
            "callee": _check_leg("callee", raw.get("callee") or []),
            "transferee": _check_leg("transferee", raw.get("transferee") or [])}
    for op in ("transfer", "attended_transfer"):
        if uses(flow, op) and not flow["transferee"]:
            article = "an" if op.startswith("a") else "a"
            raise ProtoError("E_BAD_ARGS", f"scenario: {article} {op} step needs the "
                             "transferee's steps (what the transferred end does on its new "
                             "call)")
    return flow


def check_data(raw: Any) -> list[dict[str, str]]:
    """A run's per-call data checked: rows (maps) with the same columns, each column a
    variable name other than the built-in ones, values strings (numbers become strings)."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_ROWS:
        raise ProtoError("E_BAD_ARGS", f"data: a list of 1..{MAX_ROWS} rows")
    first = raw[0]
    if not isinstance(first, dict) or not first or len(first) > MAX_COLUMNS:
        raise ProtoError("E_BAD_ARGS", f"data row 1: a map of 1..{MAX_COLUMNS} columns")
    for name in first:
        if not isinstance(name, str) or not _COLUMN.match(name) or name in VARIABLES:
            raise ProtoError("E_BAD_ARGS", f"data: column {name!r} is not a variable name "
                             "(letters, digits, _; not call, me or peer)")
    rows, size = [], 0
    for n, row in enumerate(raw, 1):
        if not isinstance(row, dict) or set(row) != set(first):
            raise ProtoError("E_BAD_ARGS", f"data row {n}: the columns must be "
                             + ", ".join(first))
        out = {}
        for key, value in row.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or len(value) > MAX_VALUE or any(
                    c in value for c in "\r\n\0"):
                raise ProtoError("E_BAD_ARGS", f"data row {n}: {key!r} must be text of at most "
                                 f"{MAX_VALUE} characters on one line")
            out[key] = value
            size += len(value)
        rows.append(out)
    if size > MAX_DATA:
        raise ProtoError("E_BAD_ARGS", f"data: more than {MAX_DATA // 1024} KiB of values")
    return rows


def builtin(hold: str = "1", hangup: str = "caller", dtmf: str = "",
            dtmf_method: str = "rfc2833", answer_codes: str = "200",
            answer_delay: float = 0.0) -> dict[str, Any]:
    """The flow of ``load.start``'s options as a scenario: the caller calls and, once answered,
    sends the DTMF digits; the leg that hangs up does so after the hold time; the callee rings
    ``answer_delay`` seconds, answers from the code mix and expects the digits."""
    pause = {"op": "pause", "s": hold}
    caller: list[dict[str, Any]] = [{"op": "call"},
                                    {"op": "wait", "state": "confirmed", "on_failure": "end"}]
    if dtmf:
        caller.append({"op": "dtmf", "digits": dtmf, "method": dtmf_method})
    answer: dict[str, Any] = {"op": "answer", "codes": answer_codes}
    if answer_delay:
        answer["ring"] = answer_delay
    callee: list[dict[str, Any]] = [answer]
    if hangup == "caller":
        caller += [pause, {"op": "hangup"}]
        if dtmf:
            callee.append({"op": "expect_dtmf", "digits": dtmf})
    else:
        callee += [{"op": "wait", "state": "confirmed", "on_failure": "end"}, pause]
        if dtmf:  # checked when the hold time is up: what came by then
            callee.append({"op": "expect_dtmf", "digits": dtmf, "timeout": 0.001,
                           "on_failure": "skip"})
        callee.append({"op": "hangup"})
    return check({"name": "built-in", "caller": caller, "callee": callee})


def expand(text: str, values: dict[str, str]) -> str:
    """``text`` with its variables (``${me}``...) replaced by their values."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def uses(flow: dict[str, Any], op: str) -> bool:
    """Whether a step of kind ``op`` is in either leg."""
    return any(step["op"] == op for leg in LEGS for step in flow.get(leg) or [])


def describe(scenario: dict[str, Any]) -> list[str]:
    """One line per step, as ``callfleet scenario check`` prints a flow."""
    lines = [f"scenario {scenario.get('name') or '(unnamed)'}"]
    for leg in LEGS:
        steps = scenario.get(leg) or []
        if leg not in ENDS and not steps:
            continue
        lines.append(f"  {leg}: {len(steps)} step{'s' if len(steps) != 1 else ''}")
        for i, step in enumerate(steps, 1):
            args = ", ".join(f"{k}={v}" for k, v in step.items() if k != "op")
            lines.append(f"    {i:>2}. {step['op']}" + (f"  ({args})" if args else ""))
    return lines
