"""Edits of the SDP PJSIP writes for a call (pure): the account's extra attributes."""

from __future__ import annotations

from collections.abc import Sequence


def add_audio_attributes(sdp: str, attrs: Sequence[str]) -> str:
    """``sdp`` with an ``a=`` line for each of ``attrs`` at the end of every audio media
    description; the line ending PJSIP used (CRLF) is kept."""
    if not attrs:
        return sdp
    eol = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.rstrip("\r\n").split(eol)
    out: list[str] = []
    extra = [f"a={a}" for a in attrs]
    in_audio = False
    for line in lines:
        if line.startswith("m="):
            if in_audio:
                out.extend(extra)
            in_audio = line.startswith("m=audio ")
        out.append(line)
    if in_audio:
        out.extend(extra)
    return eol.join(out) + eol
