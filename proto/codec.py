"""The envelope: one msgpack map per message, built by the constructors here and checked by decode()."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from proto import limits
from proto.errors import ProtoError
from proto.ops import EVENTS, KINDS, OPS
from proto.schema import validate


@dataclass
class Message:
    """A decoded message. Which fields matter depends on ``kind`` (see PROTOCOL.md)."""

    kind: str
    op: str
    id: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    obj: str = ""
    seq: int = 0
    ts: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    #: a request's deadline: Unix time after which it must not be executed (0: none)
    expires: float = 0.0
    #: a request's client life: the instance id its connection chose when it connected ("":
    #: none); request ids are unique within one life (PROTOCOL.md section 4). A reply made by
    #: ``ok``/``error`` keeps its request's (never sent)
    life: str = ""

    def to_wire(self) -> dict[str, Any]:
        """The map that goes on the wire (only the fields of this kind)."""
        out: dict[str, Any] = {"v": limits.VERSION, "kind": self.kind, "id": self.id, "op": self.op}
        if self.kind == "req":
            out["args"] = self.args
            if self.expires:
                out["expires"] = self.expires
            if self.life:
                out["life"] = self.life
        elif self.kind == "rep":
            out["ok"] = self.ok
            if self.ok:
                out["result"] = self.result
            else:
                out["error"] = self.error
        elif self.kind == "evt":
            out.update(obj=self.obj, seq=self.seq, ts=self.ts, data=self.data)
        else:
            out["data"] = self.data
        return out


def req(op: str, args: dict[str, Any], rid: str, expires: float = 0.0, life: str = "") -> Message:
    return Message("req", op, rid, args=args, expires=expires, life=life)


def ok(request: Message, result: dict[str, Any] | None = None) -> Message:
    """The success reply to ``request`` (it keeps the request's ``life``, which is not sent: the
    coordinator's reply cache and delivery read it)."""
    return Message("rep", request.op, request.id, ok=True, result=result or {}, life=request.life)


def error(request: Message | None, exc: ProtoError) -> Message:
    """An error reply to ``request`` (or to an undecodable frame, when it is None)."""
    op = request.op if request else exc.op
    rid = request.id if request else getattr(exc, "rid", "")
    err = exc.as_dict()
    err["op"] = err["op"] or op
    return Message("rep", op, rid, ok=False, error=err, life=request.life if request else "")


def evt(op: str, obj: str, seq: int, data: dict[str, Any], ts: float | None = None) -> Message:
    return Message("evt", op, "", obj=obj, seq=seq, ts=time.time() if ts is None else ts, data=data)


def hb(data: dict[str, Any]) -> Message:
    return Message("hb", "hb", "", data=data)


def encode(msg: Message) -> bytes:
    """msgpack bytes of ``msg``; refuses to produce a frame larger than the limit."""
    frame: bytes = msgpack.packb(msg.to_wire(), use_bin_type=True)
    if len(frame) > limits.MAX_FRAME:
        raise ProtoError("E_BAD_MSG", f"message of {len(frame)} bytes exceeds {limits.MAX_FRAME}")
    return frame


#: what msgpack decodes maps and arrays to (exactly these types: no subclass comes out of it)
_CONTAINERS = frozenset((dict, list))
_STR = frozenset((str,))


def _shape_error(value: Any, depth: int) -> str:
    """Why ``value`` (a map/array at ``depth``, or a scalar) is refused, or "" if it is fine.

    Only maps and arrays count as nesting levels; every map key must be a string (msgpack's
    ``strict_map_key`` still lets bytes keys through). The types of a container's keys and
    values are gathered by ``map(type, ...)`` (C loops): Python looks only at nested containers,
    so a large reply (a page of agents) is checked at a fraction of its decoding's cost.
    """
    if type(value) is dict:
        if not _STR.issuperset(map(type, value)):
            return "map keys must be strings"
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        return ""
    if depth > limits.MAX_DEPTH:
        return f"nesting deeper than {limits.MAX_DEPTH}"
    if _CONTAINERS.isdisjoint(map(type, children)):
        return ""
    for child in children:
        kind = type(child)
        if kind is list and _CONTAINERS.isdisjoint(map(type, child)):
            if depth >= limits.MAX_DEPTH:  # a flat array (a histogram's bucket): no call
                return f"nesting deeper than {limits.MAX_DEPTH}"
        elif kind in _CONTAINERS and (why := _shape_error(child, depth + 1)):
            return why
    return ""


def _bad(msg: str, rid: str = "", op: str = "", code: str = "E_BAD_MSG") -> ProtoError:
    exc = ProtoError(code, msg, op=op)
    exc.rid = rid  # type: ignore[attr-defined]
    return exc


def _str_field(raw: dict[str, Any], name: str, hi: int, rid: str, required: bool = True) -> str:
    value = raw.get(name, "")
    if not isinstance(value, str) or len(value) > hi or (required and not value):
        raise _bad(f"{name!r} must be a string of 1..{hi} characters", rid)
    return value


def _echo_id(raw: dict[str, Any]) -> str:
    """The request id an error reply echoes: the frame's ``id`` when it is a string of 1 to
    MAX_ID characters, else "" (an id that is not one a client may send is never echoed)."""
    rid = raw.get("id")
    return rid if isinstance(rid, str) and 0 < len(rid) <= limits.MAX_ID else ""


def _readable_id(frame: bytes) -> str:
    """The ``id`` of a frame that failed the decoder's limits (a string over MAX_STR, an array
    over MAX_ARRAY, ...) when the frame is still msgpack: read once more without those limits
    (the frame is at most MAX_FRAME bytes), only to echo the id in the error reply."""
    try:
        raw = msgpack.unpackb(frame, raw=False, strict_map_key=False, max_ext_len=0)
    except Exception:  # not msgpack at all: nothing to echo
        return ""
    return _echo_id(raw) if isinstance(raw, dict) else ""


def _why(exc: Exception) -> str:
    """msgpack's own words for a limit it enforced (e.g. ``8200 exceeds max_str_len(8192)``)."""
    text = str(exc)
    return text[:120] if text else "malformed"


def decode(frame: bytes) -> Message:
    """Parse and check one frame's envelope. Raises ProtoError (E_BAD_MSG / E_BAD_VERSION).

    Arguments of requests are not checked here: see :func:`check_request`.
    """
    if len(frame) > limits.MAX_FRAME:
        raise _bad(f"frame of {len(frame)} bytes exceeds {limits.MAX_FRAME}")
    try:
        raw = msgpack.unpackb(
            frame, raw=False, strict_map_key=True, use_list=True,
            max_str_len=limits.MAX_STR, max_bin_len=limits.MAX_STR,
            max_array_len=limits.MAX_ARRAY, max_map_len=limits.MAX_MAP, max_ext_len=0)
    except Exception as exc:  # msgpack raises many types: all mean "not a valid frame"
        raise _bad(f"undecodable msgpack ({type(exc).__name__}: {_why(exc)})",
                   _readable_id(frame)) from None
    if not isinstance(raw, dict):
        raise _bad("a message must be a msgpack map")
    rid = _echo_id(raw)
    why = _shape_error(raw, 1)
    if why:
        raise _bad(why, rid)
    v = raw.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v != limits.VERSION:
        raise _bad(f"protocol version {v!r} is not supported (this side speaks "
                   f"{limits.VERSION})", rid, code="E_BAD_VERSION")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _bad(f"kind must be one of {', '.join(KINDS)}", rid)
    # a reply to an undecodable frame has no op (see error()): only replies may omit it
    op = _str_field(raw, "op", limits.MAX_OP, rid, required=kind != "rep")
    rid = _str_field(raw, "id", limits.MAX_ID, rid, required=kind == "req")
    msg = Message(kind, op, rid)
    _BODIES[kind](raw, msg)
    return msg


def _req_body(raw: dict[str, Any], msg: Message) -> None:
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise _bad("'args' must be a map", msg.id)
    msg.args = args
    expires = raw.get("expires")
    if expires is not None:
        if (not isinstance(expires, (int, float)) or isinstance(expires, bool)
                or not math.isfinite(expires) or expires <= 0):
            raise _bad("'expires' must be a positive number (Unix time, seconds)", msg.id)
        msg.expires = float(expires)
    life = raw.get("life")
    if life is not None:
        if not isinstance(life, str) or not 0 < len(life) <= limits.MAX_ID:
            raise _bad(f"'life' must be a string of 1..{limits.MAX_ID} characters", msg.id)
        msg.life = life


def _rep_body(raw: dict[str, Any], msg: Message) -> None:
    okv = raw.get("ok")
    if not isinstance(okv, bool):
        raise _bad("'ok' must be a boolean", msg.id)
    msg.ok = okv
    body = raw.get("result" if okv else "error", {})
    if not isinstance(body, dict):
        raise _bad("'result'/'error' must be a map", msg.id)
    if okv:
        msg.result = body
    else:
        msg.error = body


def _data(raw: dict[str, Any], msg: Message) -> None:
    data = raw.get("data", {})
    if not isinstance(data, dict):
        raise _bad("'data' must be a map", msg.id)
    msg.data = data


def _evt_body(raw: dict[str, Any], msg: Message) -> None:
    obj, seq, ts = raw.get("obj"), raw.get("seq"), raw.get("ts")
    if not isinstance(obj, str) or len(obj) > limits.MAX_ID:
        raise _bad("'obj' must be a string", msg.id)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise _bad("'seq' must be a non-negative integer", msg.id)
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        raise _bad("'ts' must be a number", msg.id)
    msg.obj, msg.seq, msg.ts = obj, seq, float(ts)
    _data(raw, msg)


#: kind -> the reader of the rest of a frame of that kind (after v, kind, op and id)
_BODIES: dict[str, Callable[[dict[str, Any], Message], None]] = {
    "req": _req_body, "rep": _rep_body, "evt": _evt_body, "hb": _data}


def check_request(msg: Message, *, from_coordinator: bool = False) -> None:
    """Validate a request's op and arguments; ``from_coordinator`` admits the agent-only args."""
    spec = OPS.get(msg.op)
    if spec is None:
        raise ProtoError("E_UNKNOWN_OP", f"unknown op {msg.op!r}", op=msg.op)
    fields = spec.args + spec.agent_args if from_coordinator else spec.args
    # agent-only args may repeat a client field (e.g. the pre-chosen id): keep one of each.
    unique = tuple({f.name: f for f in fields}.values())
    try:
        validate(unique, msg.args, msg.op)
    except ProtoError as exc:
        exc.op = msg.op
        raise


def check_expiry(msg: Message, now: float) -> None:
    """Refuse (E_EXPIRED) a request whose ``expires`` is past at ``now`` (Unix time)."""
    if msg.expires and now > msg.expires:
        raise ProtoError("E_EXPIRED", f"the request expired {now - msg.expires:.3f} s ago "
                         "(not executed)", op=msg.op)


def check_event(msg: Message) -> None:
    """Validate an event's name and data fields (agents' events are checked by the coordinator)."""
    spec = EVENTS.get(msg.op)
    if spec is None:
        raise ProtoError("E_UNKNOWN_OP", f"unknown event {msg.op!r}", op=msg.op)
    validate(spec.data, msg.data, msg.op)
