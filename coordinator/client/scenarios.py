"""Scenario files (YAML or JSON) read and checked as the coordinator will (``proto.scenario``):
for ``Lib.run_load(..., scenario=PATH)`` and the command line (``callfleet scenario check``,
``callfleet load --scenario``). YAML goes through PyYAML's safe loader (plain data only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from proto import ProtoError, scenario

#: largest scenario file read
MAX_FILE = 256 * 1024


class BadScenario(Exception):
    """A scenario file that cannot be used: one line saying why."""


def read(path: str) -> dict[str, Any]:
    """The checked scenario of the file at ``path`` (.yaml, .yml or .json)."""
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise BadScenario(f"{path}: a scenario file ends in .yaml, .yml or .json")
    try:
        if p.stat().st_size > MAX_FILE:
            raise BadScenario(f"{path}: larger than {MAX_FILE // 1024} KiB")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadScenario(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        raw = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadScenario(f"{path}: not {p.suffix.lower()[1:].upper()}{where}: "
                          f"{problem}") from None
    try:
        return scenario.check(raw)
    except ProtoError as exc:
        raise BadScenario(f"{path}: {exc.msg}") from None
