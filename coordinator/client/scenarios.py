"""Scenario files (YAML or JSON) and per-call data files (CSV) read and checked as the
coordinator will (``proto.scenario``): for ``Lib.run_load(..., scenario=PATH, data=PATH)`` and
the command line (``callfleet scenario check``, ``callfleet load --scenario --data``). YAML goes
through PyYAML's safe loader (plain data only), CSV through the standard library's reader
(a header row names the columns)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from proto import ProtoError, scenario

#: largest scenario file read
MAX_FILE = 256 * 1024


class BadScenario(Exception):
    """A scenario file that cannot be used: one line saying why."""


def _text(path: str, limit: int) -> str:
    try:
        if Path(path).stat().st_size > limit:
            raise BadScenario(f"{path}: larger than {limit // 1024} KiB")
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadScenario(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None


def read(path: str, columns: tuple[str, ...] = ()) -> dict[str, Any]:
    """The checked scenario of the file at ``path`` (.yaml, .yml or .json); ``columns``: the
    run's data columns (variables of the caller's steps)."""
    p = Path(path)
    if p.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise BadScenario(f"{path}: a scenario file ends in .yaml, .yml or .json")
    text = _text(path, MAX_FILE)
    try:
        raw = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadScenario(f"{path}: not {p.suffix.lower()[1:].upper()}{where}: "
                          f"{problem}") from None
    try:
        return scenario.check(raw, columns)
    except ProtoError as exc:
        raise BadScenario(f"{path}: {exc.msg}") from None


def read_data(path: str) -> list[dict[str, str]]:
    """The checked rows of the CSV file at ``path``: a header row of column names, then a row
    per call (blank lines skipped)."""
    text = _text(path, scenario.MAX_DATA * 2)
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0", strict=True)
    rows: list[dict[str, str]] = []
    try:
        for row in reader:
            if "\0" in row or None in row.values():
                raise BadScenario(f"{path} line {reader.line_num}: {len(reader.fieldnames or [])}"
                                  " values expected, as the header row names")
            rows.append({k.strip(): v.strip() for k, v in row.items()})
    except csv.Error as exc:
        raise BadScenario(f"{path} line {reader.line_num}: not CSV: {exc}") from None
    if not rows:
        raise BadScenario(f"{path}: a header row of column names, then a row per call")
    try:
        return scenario.check_data(rows)
    except ProtoError as exc:
        raise BadScenario(f"{path}: {exc.msg}") from None
