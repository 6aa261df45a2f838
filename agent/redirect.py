"""A 3xx answer to an outgoing call: the account's redirect policy decides (agent.policy), and the
call reports the target. pjsua2 prints the target as in a From/To header, without its port and
parameters; the full URI is taken from the 3xx's Contact headers when they name it."""

from __future__ import annotations

import re
from typing import Any

#: one Contact header line (full or compact form) of a SIP message
_CONTACT = re.compile(r"^(?:contact|m)[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE)


def _bare(uri: str) -> str:
    """A URI without display name, brackets, header parameters (after >) or angle brackets."""
    return uri.rsplit("<", 1)[-1].split(">", 1)[0].strip()


def _key(uri: str) -> str:
    """scheme:user@host of a URI: what survives pjsua2's From/To printing of it."""
    bare = _bare(uri).split(";", 1)[0].split("?", 1)[0]
    scheme, _, rest = bare.partition(":")
    user, at, hostport = rest.rpartition("@")
    host = hostport[:hostport.index("]") + 1] if hostport.startswith("[") else \
        hostport.split(":", 1)[0]
    return f"{scheme.lower()}:{user}{at}{host.lower()}"


def contacts(whole_msg: str) -> list[str]:
    """The Contact URIs of a SIP message, in order (a header may list several)."""
    head = whole_msg.split("\r\n\r\n", 1)[0].replace("\r\n", "\n")
    out: list[str] = []
    for line in _CONTACT.findall(head):
        for part in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", line):
            if part.strip() and part.strip() != "*":
                out.append(_bare(part))
    return out


def full_target(printed: str, whole_msg: str) -> str:
    """The Contact URI of the 3xx that pjsua2 printed as ``printed``; ``printed`` if none."""
    key = _key(printed)
    return next((uri for uri in contacts(whole_msg) if _key(uri) == key), printed)


def status_of(whole_msg: str) -> tuple[int, str] | None:
    """(code, reason) of a SIP response's status line; None for anything else."""
    parts = whole_msg.split("\r\n", 1)[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("SIP/") or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2] if len(parts) > 2 else ""


def response_text(event: Any) -> str:
    """The whole 3xx message of the SipEvent pjsua2 passes to onCallRedirected ('' if it has
    none, as when pjsua tries the next target after a failed one)."""
    try:
        return str(event.body.tsxState.src.rdata.wholeMsg)
    except AttributeError:
        return ""
