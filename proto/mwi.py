"""A message-summary body (RFC 3842, application/simple-message-summary), read into what an
acc.mwi_info event says of it. Pure."""

from __future__ import annotations

import re
from typing import Any

_WAITING = re.compile(r"^Messages-Waiting\s*:\s*(yes|no)\s*$", re.I | re.M)
_VOICE = re.compile(r"^Voice-Message\s*:\s*(\d+)\s*/\s*(\d+)", re.I | re.M)


def summary(body: str) -> dict[str, Any]:
    """``waiting`` (Messages-Waiting: yes), ``voice_new`` and ``voice_old`` (Voice-Message:
    new/old, 0 when absent)."""
    waiting = _WAITING.search(body)
    voice = _VOICE.search(body)
    return {"waiting": bool(waiting and waiting.group(1).lower() == "yes"),
            "voice_new": int(voice.group(1)) if voice else 0,
            "voice_old": int(voice.group(2)) if voice else 0}
