"""Identities of a registrar load run, read from a CSV file (pure; unit-tested).

One identity per line: ``user,password[,domain]``. A ``;`` separator and a first line naming
the order (``SEQUENTIAL``/``RANDOM``/``USER``), as in SIPp injection files, are accepted too, so
the file a SIPp run uses serves here as well. Blank lines and lines starting with ``#`` are
skipped, and so is a header line whose first field is ``user``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

_ORDER_LINES = ("SEQUENTIAL", "RANDOM", "USER")


def parse_credentials(text: str) -> list[dict[str, Any]]:
    """The identities of a credentials file; ValueError (with the line number) on a bad line."""
    lines = text.splitlines()
    if lines and lines[0].strip().upper() in _ORDER_LINES:
        lines[0] = ""
    out: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        sep = ";" if ";" in stripped and "," not in stripped else ","
        fields = [f.strip() for f in next(csv.reader(io.StringIO(stripped), delimiter=sep))]
        if not out and fields[0].lower() == "user":
            continue  # a header
        if len(fields) < 2 or len(fields) > 3 or not fields[0]:
            raise ValueError(f"line {number}: expected user,password[,domain]")
        row: dict[str, Any] = {"user": fields[0], "password": fields[1]}
        if len(fields) == 3 and fields[2]:
            row["domain"] = fields[2]
        out.append(row)
    if not out:
        raise ValueError("no identities in the file")
    return out
