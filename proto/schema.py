"""Declarative argument specs: each op and event lists its fields; one validator checks them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from proto import limits
from proto.errors import ProtoError

#: field kinds -> the Python types msgpack decodes them to
TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "map": (dict,),
    "list": (list,),
    "headers": (dict,),
    "uri": (str,),
    "sdp_attrs": (list,),
    "any": (str, int, float, bool, dict, list, type(None)),
}

#: Longest SIP URI accepted.
MAX_URI = 512


@dataclass(frozen=True)
class Field:
    """One named argument: its kind, whether it is required, and its bounds."""

    name: str
    kind: str
    required: bool = False
    doc: str = ""
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in TYPES:
            raise ValueError(f"unknown field kind {self.kind!r}")

    def check(self, raw: Any, where: str) -> None:
        """Raise E_BAD_ARGS unless ``raw`` fits this field."""
        value: Any = raw
        kind = self.kind
        ok_types = TYPES[kind]
        # bool is an int subclass: never accept it where a number is meant.
        if not isinstance(raw, ok_types) or (kind in ("int", "float") and isinstance(raw, bool)):
            raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} must be {kind}, "
                             f"got {type(value).__name__}")
        if kind in ("int", "float"):
            if self.lo is not None and value < self.lo:
                raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} must be >= {self.lo:g}")
            if self.hi is not None and value > self.hi:
                raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} must be <= {self.hi:g}")
        if kind == "str":
            if self.hi is not None and len(value) > self.hi:
                raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} is longer than {self.hi:g}")
            if self.lo is not None and len(value) < self.lo:
                raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} is shorter than {self.lo:g}")
            if self.choices and value not in self.choices:
                raise ProtoError("E_BAD_ARGS", f"{where}: {self.name!r} must be one of "
                                 f"{', '.join(self.choices)}")
        if kind == "headers":
            check_headers(value, f"{where}: {self.name!r}")
        if kind == "uri":
            check_uri(value, f"{where}: {self.name!r}")
        if kind == "sdp_attrs":
            check_sdp_attrs(value, f"{where}: {self.name!r}")


def check_uri(value: str, where: str) -> None:
    """A SIP URI, optionally with a display name: ``sip:u@h``, ``<sips:u@h>``, ``"A" <sip:u@h>``.

    This is a first, cheap screen; PJSIP's own parser has the last word (E_PJSIP).
    """
    if not value or len(value) > MAX_URI:
        raise ProtoError("E_BAD_ARGS", f"{where}: a SIP URI of 1..{MAX_URI} characters is needed")
    if any(c in value for c in "\r\n\0"):
        raise ProtoError("E_BAD_ARGS", f"{where}: the SIP URI has a control character")
    bare = value.rsplit("<", 1)[-1].rstrip(">").strip() if "<" in value else value.strip()
    scheme, _, rest = bare.partition(":")
    if scheme.lower() not in ("sip", "sips") or not rest or " " in rest:
        raise ProtoError("E_BAD_ARGS", f"{where}: {value!r} is not a sip: or sips: URI")


def is_wav_path(path: str) -> bool:
    """Whether ``path`` names a WAV file as players and recorders take it: absolute (on the
    agent's host), ending in .wav, no NUL."""
    return path.startswith("/") and path.lower().endswith(".wav") and "\0" not in path


def check_headers(value: dict[Any, Any], where: str) -> None:
    """Extra SIP headers: a map of header name -> value, strings without CR/LF; names non-empty."""
    if len(value) > limits.MAX_HEADERS:
        raise ProtoError("E_BAD_ARGS", f"{where}: more than {limits.MAX_HEADERS} headers")
    for name, val in value.items():
        if not isinstance(name, str) or not isinstance(val, str) or not name:
            raise ProtoError("E_BAD_ARGS", f"{where}: headers must map strings to strings")
        if any(c in name for c in ":\r\n ") or "\r" in val or "\n" in val:
            raise ProtoError("E_BAD_ARGS", f"{where}: header {name!r} has a forbidden character")


#: SDP attributes PJSIP writes and negotiates itself: an extra one would contradict it
PJSIP_SDP_ATTRS = ("rtpmap", "fmtp", "sendrecv", "sendonly", "recvonly", "inactive", "rtcp",
                   "rtcp-mux", "crypto", "fingerprint", "setup", "ssrc", "mid", "ptime")

_SDP_ATTR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*(:[\x20-\x7e]+)?")


def check_sdp_attrs(value: list[Any], where: str) -> None:
    """SDP attributes: ``name`` or ``name:value`` (RFC 8866), printable ASCII, no ``a=``.

    They are added to the audio media of the account's offers and answers; none may be one
    that PJSIP writes and negotiates itself."""
    if len(value) > limits.MAX_SDP_ATTRS:
        raise ProtoError("E_BAD_ARGS", f"{where}: more than {limits.MAX_SDP_ATTRS} attributes")
    for attr in value:
        if not isinstance(attr, str) or not 0 < len(attr) <= limits.MAX_SDP_ATTR \
                or not _SDP_ATTR.fullmatch(attr):
            raise ProtoError("E_BAD_ARGS", f"{where}: {attr!r} is not an SDP attribute "
                             f"(name or name:value, printable ASCII, 1..{limits.MAX_SDP_ATTR} "
                             "characters, without the a=)")
        if attr.split(":", 1)[0].lower() in PJSIP_SDP_ATTRS:
            raise ProtoError("E_BAD_ARGS", f"{where}: a={attr.split(':', 1)[0]} is written and "
                             "negotiated by PJSIP itself")


def validate(fields: tuple[Field, ...], args: Any, where: str) -> dict[str, Any]:
    """Check ``args`` against ``fields``; unknown keys are refused so typos never pass silently."""
    if not isinstance(args, dict):
        raise ProtoError("E_BAD_ARGS", f"{where}: args must be a map")
    known = {f.name: f for f in fields}
    for key in args:
        if key not in known:
            raise ProtoError("E_BAD_ARGS", f"{where}: unknown argument {key!r}")
    for f in fields:
        if f.name in args and args[f.name] is not None:
            f.check(args[f.name], where)
        elif f.required:
            raise ProtoError("E_BAD_ARGS", f"{where}: missing argument {f.name!r}")
    return args
