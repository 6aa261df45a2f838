"""Every message kind survives encode -> decode exactly, and the reply builders keep the request id."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

import proto
from proto import ERROR_CODES, EVENTS, OPS, Message, ProtoError, limits

from .samples import CLIENT_ARGS, EVENT_DATA, coordinator_args, sample_result


def roundtrip(msg: Message) -> Message:
    """Decode the encoding of ``msg`` and check that it is equal and re-encodes to the same bytes."""
    frame = proto.encode(msg)
    back = proto.decode(frame)
    assert back == msg
    assert proto.encode(back) == frame
    return back


def test_samples_cover_every_op_and_event() -> None:
    assert set(CLIENT_ARGS) == set(OPS)
    assert set(EVENT_DATA) == set(EVENTS)


@pytest.mark.parametrize("op", sorted(OPS))
def test_request_roundtrip(op: str) -> None:
    back = roundtrip(proto.req(op, CLIENT_ARGS[op], "r-1"))
    assert (back.kind, back.op, back.id, back.args) == ("req", op, "r-1", CLIENT_ARGS[op])


@pytest.mark.parametrize("op", sorted(OPS))
def test_forwarded_request_roundtrip(op: str) -> None:
    roundtrip(proto.req(op, coordinator_args(op), "fwd-9"))


def test_request_without_args_roundtrip() -> None:
    roundtrip(proto.req("lib.status", {}, "x"))


def test_request_args_absent_on_the_wire_decode_as_empty() -> None:
    frame = msgpack.packb({"v": 1, "kind": "req", "id": "r", "op": "lib.agents"})
    assert proto.decode(frame).args == {}


@pytest.mark.parametrize("op", sorted(OPS))
def test_ok_reply_roundtrip(op: str) -> None:
    request = proto.req(op, CLIENT_ARGS[op], "r-2")
    reply = proto.ok(request, sample_result(op))
    back = roundtrip(reply)
    assert (back.kind, back.op, back.id, back.ok) == ("rep", op, "r-2", True)
    assert back.result == sample_result(op)
    assert back.error is None


def test_ok_reply_without_result_has_empty_result() -> None:
    back = roundtrip(proto.ok(proto.req("call.hangup", {"call": "c1"}, "r")))
    assert back.result == {}


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_error_reply_roundtrip_carries_request_id(code: str) -> None:
    request = proto.req("call.answer", {"call": "c1"}, "rid-42")
    exc = ProtoError(code, "it went wrong", status=171140, obj="c1")
    back = roundtrip(proto.error(request, exc))
    assert (back.kind, back.op, back.id, back.ok) == ("rep", "call.answer", "rid-42", False)
    assert back.error == {"code": code, "status": 171140, "obj": "c1", "op": "call.answer",
                          "msg": "it went wrong"}
    assert back.result == {}


def test_error_reply_keeps_the_op_named_by_the_error() -> None:
    request = proto.req("call.make", {"acc": "a1", "uri": "sip:b@h"}, "r")
    back = roundtrip(proto.error(request, ProtoError("E_NOT_FOUND", "no", op="acc.lookup")))
    assert back.op == "call.make"
    assert back.error is not None and back.error["op"] == "acc.lookup"


def test_error_reply_to_a_frame_rejected_after_its_id_was_read_carries_that_id() -> None:
    frame = msgpack.packb({"v": 99, "kind": "req", "id": "abc", "op": "lib.agents", "args": {}})
    with pytest.raises(ProtoError) as info:
        proto.decode(frame)
    back = roundtrip(proto.error(None, info.value))
    assert back.id == "abc"
    assert back.ok is False
    assert back.error is not None and back.error["code"] == "E_BAD_VERSION"


def test_error_reply_to_garbage_has_no_id_and_still_decodes() -> None:
    with pytest.raises(ProtoError) as info:
        proto.decode(b"\xc1garbage")
    back = roundtrip(proto.error(None, info.value))
    assert (back.kind, back.id, back.op, back.ok) == ("rep", "", "", False)
    assert back.error is not None and back.error["code"] == "E_BAD_MSG"


def test_error_reply_to_a_plain_error_without_request() -> None:
    back = roundtrip(proto.error(None, ProtoError("E_INTERNAL", "x", op="lib.status")))
    assert (back.id, back.op) == ("", "lib.status")


def test_error_reply_to_a_failed_check_carries_id_and_op() -> None:
    request = proto.decode(proto.encode(proto.req("call.answer", {"call": "c1", "code": 99}, "r-7")))
    with pytest.raises(ProtoError) as info:
        proto.check_request(request)
    back = roundtrip(proto.error(request, info.value))
    assert back.id == "r-7"
    assert back.error is not None
    assert (back.error["code"], back.error["op"]) == ("E_BAD_ARGS", "call.answer")


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_event_roundtrip(name: str) -> None:
    back = roundtrip(proto.evt(name, "c1", 7, EVENT_DATA[name], ts=1700000000.25))
    assert (back.kind, back.op, back.id, back.obj, back.seq, back.ts) == (
        "evt", name, "", "c1", 7, 1700000000.25)
    assert back.data == EVENT_DATA[name]


def test_event_stamps_the_current_time_by_default() -> None:
    msg = proto.evt("call.media_state", "c1", 0, EVENT_DATA["call.media_state"])
    assert msg.ts > 1.6e9
    roundtrip(msg)


def test_event_with_integer_timestamp_decodes_as_float() -> None:
    back = proto.decode(proto.encode(proto.evt("agent.error", "agent-1", 1, {}, ts=5)))
    assert back.ts == 5.0
    assert isinstance(back.ts, float)


@pytest.mark.parametrize("data", [{}, {"calls": 3, "capacity": 16, "sockets_free": 40, "accounts": 2},
                                  {"known": False}])
def test_heartbeat_roundtrip(data: dict[str, Any]) -> None:
    back = roundtrip(proto.hb(data))
    assert (back.kind, back.op, back.id, back.data) == ("hb", "hb", "", data)


def test_wire_form_holds_only_the_fields_of_the_kind() -> None:
    assert set(proto.req("lib.agents", {}, "r").to_wire()) == {"v", "kind", "id", "op", "args"}
    request = proto.req("lib.agents", {}, "r")
    assert set(proto.ok(request).to_wire()) == {"v", "kind", "id", "op", "ok", "result"}
    assert set(proto.error(request, ProtoError("E_TIMEOUT", "t")).to_wire()) == {
        "v", "kind", "id", "op", "ok", "error"}
    assert set(proto.evt("agent.error", "x", 0, {}, ts=0).to_wire()) == {
        "v", "kind", "id", "op", "obj", "seq", "ts", "data"}
    assert set(proto.hb({}).to_wire()) == {"v", "kind", "id", "op", "data"}
    assert proto.hb({}).to_wire()["v"] == limits.VERSION


def test_unicode_binary_and_scalar_values_roundtrip() -> None:
    data = {"name": "Zoë ☎ 電話", "blob": b"\x00\xff", "none": None, "neg": -(2**63),
            "big": 2**64 - 1, "float": -0.5, "nested": {"list": [1, [2, {"x": [True, False]}]]}}
    roundtrip(proto.hb(data))


def test_deepest_allowed_nesting_roundtrips() -> None:
    # envelope (1) -> data (2) -> six more levels = depth MAX_DEPTH, with a scalar inside
    inner: Any = {"leaf": 1}
    for _ in range(limits.MAX_DEPTH - 2 - 1):
        inner = [inner]
    roundtrip(proto.hb({"deep": inner}))
