"""The ids a coordinator issues itself: one letter and a number (``a1``, ``c2``, ``b3``)."""

from __future__ import annotations

import re

ISSUED_ID = re.compile(r"[a-z]([0-9]{1,12})")


def id_number(gid: object) -> int:
    """The number of an issued id, else 0 (a client's pre-chosen id, an agent's own id)."""
    m = ISSUED_ID.fullmatch(gid) if isinstance(gid, str) else None
    return int(m.group(1)) if m else 0
