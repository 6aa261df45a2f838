"""Checks PJSIP leaves to the application on a request it accepted over UDP (pure).

PJSIP takes a datagram's body as whatever follows the header block, whatever ``Content-Length``
says. RFC 3261 section 18.3: a message received over UDP whose ``Content-Length`` is larger
than the body it carries MUST be rejected with 400 (it was truncated on the way); bytes beyond
a smaller ``Content-Length`` are discarded, which is no error.
"""

from __future__ import annotations

import re

_CONTENT_LENGTH = re.compile(r"^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*$",
                             re.IGNORECASE | re.MULTILINE)


def framing_error(whole_msg: str) -> str:
    """Why the datagram ``whole_msg`` must be refused with 400, or "" when it is well framed."""
    head, sep, body = whole_msg.partition("\r\n\r\n")
    if not sep:
        return ""
    declared = _CONTENT_LENGTH.findall(head.replace("\r\n", "\n"))
    if not declared:
        return ""
    if len(set(declared)) > 1:
        return "conflicting Content-Length headers"
    if not declared[0].isdigit():
        return f"Content-Length {declared[0]!r} is not a number"
    size = len(body.encode("utf-8", "surrogateescape"))
    if int(declared[0]) > size:
        return f"Content-Length {declared[0]} exceeds the {size} bytes of body received"
    return ""
