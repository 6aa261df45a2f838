"""Extra SIP headers (name -> value) as pjsua2 wants them in a SipTxOption."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj


def header_vector(headers: dict[str, str] | None) -> Any:
    vec = pj.SipHeaderVector()
    for name, value in (headers or {}).items():
        h = pj.SipHeader()
        h.hName = name
        h.hValue = value
        vec.append(h)
    return vec
