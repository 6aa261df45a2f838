"""The reference part of proto/PROTOCOL.md, rendered from the code's own registries.

``python -m proto.doc`` prints the Markdown tables; ``--write`` rewrites the generated block of
PROTOCOL.md (between the BEGIN/END GENERATED markers); ``--check`` exits 1 when that block is
stale. The tests compare the block with :func:`tables`, so the spec cannot drift from the code.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from proto import limits, scenario, schema
from proto.errors import ERROR_CODES
from proto.ops import CALL_STATES, EVENTS, KINDS, OPS, EventSpec, OpSpec
from proto.schema import Field

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"
#: the document whose generated block this module maintains
PROTOCOL_MD = Path(__file__).with_name("PROTOCOL.md")
#: the README's block of scenario steps (its own markers), which ``--write`` keeps current too
README_MD = Path(__file__).resolve().parents[1] / "README.md"
STEPS_BEGIN = "<!-- BEGIN GENERATED STEPS -->"
STEPS_END = "<!-- END GENERATED STEPS -->"

#: Python types (what msgpack decodes to) -> msgpack type names, for the field-kinds table
_MSGPACK_NAMES: dict[type, str] = {
    str: "str", int: "int", float: "float", bool: "bool", dict: "map", list: "array",
    type(None): "nil",
}

def _first_line(doc: str | None) -> str:
    """The first line of a docstring, with reST literals as Markdown code."""
    return (doc or "").strip().splitlines()[0].replace("``", "`") if doc else ""


#: what each field kind checks beyond its msgpack type
_KIND_NOTES: dict[str, str] = {
    "str": "bounds are lengths in characters",
    "int": "bounds are values; a bool is never accepted as a number",
    "float": "bounds are values; an int is accepted; a bool is never accepted as a number",
    "bool": "",
    "map": "contents are not checked beyond the envelope limits",
    "list": "elements are not checked beyond the envelope limits",
    "headers": f"at most {limits.MAX_HEADERS} entries. " + _first_line(schema.check_headers.__doc__)
               + " Names contain no ':' and no space.",
    "uri": f"1..{schema.MAX_URI} characters; no CR, LF or NUL. " + _first_line(schema.check_uri.__doc__)
           + " PJSIP's own parser has the last word (`E_PJSIP`).",
    "sdp_attrs": f"a list of at most {limits.MAX_SDP_ATTRS} strings. "
                 + _first_line(schema.check_sdp_attrs.__doc__) + " Not: "
                 + ", ".join(schema.PJSIP_SDP_ATTRS) + ".",
    "any": "any msgpack value",
}


_OPS_LEGEND = (
    "Targets: `coordinator` - answered or placed by the coordinator itself; `agent` - placed "
    "on one agent; `account` / `call` / `media` - "
    "about an existing object, executed on (or fanned out to) the agent(s) holding it; "
    "`coordinator-to-agent` - sent by the coordinator to agents; `agent-to-coordinator` - sent "
    "by agents, not by clients.",
    "",
    "Groups: each op belongs to one group (`lib`, `account`, `buddy`, `call`, `media`, `codec`, "
    "`load`, `events`, `client`, `agent`), the module of `proto/ops/` that declares it. Served: how the "
    "coordinator serves a client's request (sent on unchanged to the agent holding the object, "
    "or its own route). Roles: who may send it (section 1.1); a request naming another "
    "client's object gets `E_FORBIDDEN`.",
    "",
    "Parts: `args` - the request's `args` map as a client sends it; `agent args` - fields the "
    "coordinator adds when it forwards the request to an agent (a client never sends them; a name "
    "that is also in `args` is the same field, required on the agent side); `result` - the "
    "`result` map of a successful reply. Unknown `args` keys are refused with `E_BAD_ARGS`; a "
    "`nil` value counts as absent.",
)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _num(value: float) -> str:
    return f"{value:g}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return out


def bounds(f: Field) -> str:
    """The field's bounds in words (empty when it has none)."""
    parts: list[str] = []
    if f.kind == "str":
        if f.lo is not None and f.hi is not None:
            parts.append(f"length {_num(f.lo)}..{_num(f.hi)}")
        elif f.hi is not None:
            parts.append(f"length <= {_num(f.hi)}")
        elif f.lo is not None:
            parts.append(f"length >= {_num(f.lo)}")
    elif f.kind in ("int", "float"):
        if f.lo is not None and f.hi is not None:
            parts.append(f"{_num(f.lo)}..{_num(f.hi)}")
        elif f.hi is not None:
            parts.append(f"<= {_num(f.hi)}")
        elif f.lo is not None:
            parts.append(f">= {_num(f.lo)}")
    elif f.kind == "uri":
        parts.append(f"length 1..{schema.MAX_URI}")
    elif f.kind == "headers":
        parts.append(f"<= {limits.MAX_HEADERS} headers")
    elif f.kind == "sdp_attrs":
        parts.append(f"<= {limits.MAX_SDP_ATTRS} attributes")
    if f.choices:
        parts.append("one of " + ", ".join(f.choices))
    return "; ".join(parts)


def _field_row(where: str, f: Field) -> list[str]:
    return [where, f"`{f.name}`", f.kind, "yes" if f.required else "no", bounds(f), f.doc]


_SERVED = {"forward": "sent on by the coordinator to the agent that holds the object",
           "own": "the coordinator's own route", "none": "not sent by clients"}


def _served(spec: OpSpec) -> str:
    """How the coordinator serves the op and who may send it, in a sentence."""
    if spec.route == "none":
        return f"Served: {_SERVED['none']}."
    roles = ", ".join(spec.roles)
    owned = (f"; the objects named by {', '.join(f'`{a}`' for a in spec.owned)} must be the "
             "sender's" if spec.owned else "")
    adopting = "; also while adopting (section 9)" if spec.adopting else ""
    return f"Served: {_SERVED[spec.route]}{adopting}. Roles: {roles}{owned}."


def op_table(spec: OpSpec) -> list[str]:
    """One op: its heading, target, how it is served and description, then one table of all its
    fields."""
    out = [f"#### `{spec.name}`", "", f"Target: `{spec.target}`. {_served(spec)} {spec.doc}", ""]
    rows = [_field_row("args", f) for f in spec.args]
    rows += [_field_row("agent args", f) for f in spec.agent_args]
    rows += [_field_row("result", f) for f in spec.result]
    if not rows:
        out.append("No arguments; the result is an empty map.")
        return out
    out += _table(("Part", "Field", "Kind", "Required", "Bounds", "Description"), rows)
    notes = []
    if not spec.args:
        notes.append("no arguments (`args` is an empty map)")
    if not spec.result:
        notes.append("the result is an empty map")
    if notes:
        out += ["", "Also: " + "; ".join(notes) + "."]
    return out


def event_table(spec: EventSpec) -> list[str]:
    """One event: its heading, the kind of object ``obj`` names, its description and data."""
    out = [f"#### `{spec.name}`", "", f"`obj` names the {spec.obj}. {spec.doc}", ""]
    if not spec.data:
        out.append("`data` is an empty map.")
        return out
    out += _table(("Field", "Kind", "Required", "Bounds", "Description"),
                  ([f"`{f.name}`", f.kind, "yes" if f.required else "no", bounds(f), f.doc]
                   for f in spec.data))
    return out


def _commented_constants(module_source: str) -> list[tuple[str, str]]:
    """(NAME, doc comment) of each upper-case module constant, in source order.

    The doc comment is the run of ``#:`` lines just above the assignment.
    """
    lines = module_source.splitlines()
    out: list[tuple[str, str]] = []
    for node in ast.parse(module_source).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()]
        if not names:
            continue
        doc: list[str] = []
        i = node.lineno - 2  # the line above, 0-based
        while i >= 0 and lines[i].lstrip().startswith("#:"):
            doc.insert(0, lines[i].lstrip()[2:].strip().replace("``", "`"))
            i -= 1
        out.extend((name, " ".join(doc)) for name in names)
    return out


def _limit_rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for module in (limits, schema):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        for name, doc in _commented_constants(source):
            value = getattr(module, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            where = module.__name__
            rows.append([f"`{name}`", repr(value),
                         f"`{where}`", doc])
    return rows


def _kind_rows() -> list[list[str]]:
    rows: list[list[str]] = []
    for kind, types in schema.TYPES.items():
        wire = " or ".join(_MSGPACK_NAMES.get(t, t.__name__) for t in types)
        rows.append([f"`{kind}`", wire, _KIND_NOTES.get(kind, "")])
    return rows


def steps_reference() -> str:
    """The scenario steps: each kind, the legs it is for, what it does, and its fields."""
    out = _table(("Step", "Legs", "What it does"),
                 ([f"`{op}`", ", ".join(legs), doc] for op, (legs, doc, _) in
                  scenario.STEPS.items()))
    out += ["", "Fields of each step (`op` is the step's kind; every step may also have "
            "`on_failure`: " + ", ".join(f"`{c}`" for c in scenario.ON_FAILURE) + "):", ""]
    out += _table(("Step", "Field", "Kind", "Required", "Bounds", "Description"),
                  (_field_row(f"`{op}`", f) for op in scenario.STEPS
                   for f in scenario.step_fields(op) if f.name not in ("op", "on_failure")))
    return "\n".join(out) + "\n"


def tables() -> str:
    """The generated reference: ops, events, error codes, limits (Markdown, ends with a newline)."""
    out: list[str] = [
        "<!-- Generated by `python -m proto.doc --write` from proto/ops/, proto/errors.py, "
        "proto/limits.py and proto/schema.py. Do not edit by hand. -->",
        "",
        f"Protocol version: **{limits.VERSION}**. Message kinds: "
        + ", ".join(f"`{k}`" for k in KINDS) + ". Call states: "
        + ", ".join(f"`{s}`" for s in CALL_STATES) + ".",
        "",
        "### Field kinds",
        "",
    ]
    out += _table(("Kind", "msgpack type", "Checks"), _kind_rows())
    out += ["", "### Ops", "", *_OPS_LEGEND, ""]
    out += _table(("Op", "Group", "Target", "Description"),
                  ([f"`{s.name}`", s.group, f"`{s.target}`", s.doc] for s in OPS.values()))
    for spec in OPS.values():
        out += [""] + op_table(spec)
    out += ["", "### Events", ""]
    out += _table(("Event", "Group", "`obj` is", "Description"),
                  ([f"`{s.name}`", s.group, s.obj, s.doc] for s in EVENTS.values()))
    for ev in EVENTS.values():
        out += [""] + event_table(ev)
    out += ["", "### Scenario steps", "", *steps_reference().splitlines()]
    out += ["", "### Error codes", ""]
    out += _table(("Code", "Meaning"), ([f"`{c}`", m] for c, m in ERROR_CODES.items()))
    out += ["", "### Limits", ""]
    out += _table(("Name", "Value", "Defined in", "Meaning"), _limit_rows())
    return "\n".join(out) + "\n"


def generated_block(text: str, begin: str = BEGIN, end_marker: str = END) -> str:
    """The text between the markers of ``text`` (without the newlines that frame it)."""
    start = text.index(begin) + len(begin)
    end = text.index(end_marker, start)
    return text[start:end].strip("\n") + "\n"


def replace_block(text: str, block: str, begin: str = BEGIN, end_marker: str = END) -> str:
    """``text`` with the content between its markers replaced by ``block``."""
    start = text.index(begin) + len(begin)
    end = text.index(end_marker, start)
    return text[:start] + "\n" + block.rstrip("\n") + "\n" + text[end:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m proto.doc", description=(__doc__ or "").splitlines()[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true",
                      help=f"rewrite the generated block of {PROTOCOL_MD.name}")
    mode.add_argument("--check", action="store_true",
                      help=f"exit 1 when the generated block of {PROTOCOL_MD.name} is stale")
    p.add_argument("--file", type=Path, default=PROTOCOL_MD, help="the document (default: %(default)s)")
    args = p.parse_args(argv)
    text = tables()
    if not (args.write or args.check):
        sys.stdout.write(text)
        return 0
    doc: str = args.file.read_text(encoding="utf-8")
    if BEGIN not in doc or END not in doc:
        print(f"{args.file}: the markers {BEGIN} and {END} are missing", file=sys.stderr)
        return 2
    if args.check:
        if generated_block(doc) != text:
            print(f"{args.file}: the generated block is stale; run python -m proto.doc --write",
                  file=sys.stderr)
            return 1
        return 0
    new = replace_block(doc, text)
    if new != doc:
        args.file.write_text(new, encoding="utf-8")
    if README_MD.exists() and args.file == PROTOCOL_MD:
        readme = README_MD.read_text(encoding="utf-8")
        if STEPS_BEGIN in readme and STEPS_END in readme:
            fresh = replace_block(readme, steps_reference(), STEPS_BEGIN, STEPS_END)
            if fresh != readme:
                README_MD.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
