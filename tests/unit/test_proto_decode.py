"""decode() refuses every malformed envelope with a ProtoError of the right code."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import proto
from proto import ProtoError, limits


def pack(obj: Any) -> bytes:
    return bytes(msgpack.packb(obj, use_bin_type=True))


def envelope(kind: str = "req", **fields: Any) -> dict[str, Any]:
    """A valid wire map of ``kind``, with ``fields`` overriding (or, when None, removing) keys."""
    base: dict[str, Any] = {
        "req": {"v": 1, "kind": "req", "id": "r1", "op": "call.info", "args": {"call": "c1"}},
        "rep": {"v": 1, "kind": "rep", "id": "r1", "op": "call.info", "ok": True, "result": {}},
        "evt": {"v": 1, "kind": "evt", "id": "", "op": "call.media_state", "obj": "c1", "seq": 3,
                "ts": 12.5, "data": {"media": "ACTIVE", "dir": "sendrecv"}},
        "hb": {"v": 1, "kind": "hb", "id": "", "op": "hb", "data": {}},
    }[kind]
    out = dict(base)
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def rejected(frame: bytes, code: str = "E_BAD_MSG") -> ProtoError:
    with pytest.raises(ProtoError) as info:
        proto.decode(frame)
    assert info.value.code == code, info.value
    return info.value


@pytest.mark.parametrize("kind", ["req", "rep", "evt", "hb"])
def test_the_base_envelopes_are_valid(kind: str) -> None:
    assert proto.decode(pack(envelope(kind))).kind == kind


# -- not msgpack, or not one map ------------------------------------------------------------

@pytest.mark.parametrize("frame", [
    b"",                      # nothing
    b"\xc1",                  # the one byte msgpack never uses
    b"\xc1\x80",
    b"\xd4\x01\x00",          # fixext 1: ext types are refused
    b"\xc7\x00\x05",          # ext 8 of length 0 with a type
    b"GET / HTTP/1.1\r\n\r\n",
    b"\x81\xa1v",             # a map whose only value is missing
    b"\xdf\xff\xff\xff\xff",  # a map announcing 4 billion entries
    b"\xdd\xff\xff\xff\xff",  # an array announcing 4 billion entries
    b"\xdb\xff\xff\xff\xff",  # a str announcing 4 GiB
])
def test_garbage_is_refused(frame: bytes) -> None:
    exc = rejected(frame)
    assert exc.rid == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["req", "rep", "evt", "hb"])
def test_every_truncation_of_a_valid_frame_is_refused(kind: str) -> None:
    frame = pack(envelope(kind))
    for n in range(len(frame)):
        rejected(frame[:n])


def test_trailing_bytes_after_the_map_are_refused() -> None:
    frame = pack(envelope())
    rejected(frame + b"\x00")
    rejected(frame + frame)


@pytest.mark.parametrize("top", [[], [envelope()], 1, -1, 1.5, "req", b"req", None, True])
def test_top_level_must_be_a_map(top: Any) -> None:
    rejected(pack(top))


def test_ext_values_are_refused() -> None:
    rejected(pack(envelope(args={"call": msgpack.ExtType(5, b"abc")})))


def test_timestamp_values_are_refused() -> None:
    rejected(pack(envelope(args={"call": msgpack.Timestamp(1, 0)})))


# -- map keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [1, -1, 1.5, None, True])
def test_non_string_keys_are_refused_at_the_top(key: Any) -> None:
    frame = pack({**envelope(), key: 1})
    rejected(frame)


@pytest.mark.parametrize("key", [1, b"call", 2.5, None, False])
def test_non_string_keys_are_refused_inside(key: Any) -> None:
    rejected(pack(envelope(args={key: "c1"})))
    rejected(pack(envelope("hb", data={"a": [{"b": {key: 1}}]})))


def test_bytes_keys_are_refused_at_the_top() -> None:
    frame = pack({b"v": 1, b"kind": "req", b"id": "r1", b"op": "call.info", b"args": {}})
    rejected(frame)
    rejected(pack({**envelope(), b"extra": 1}))


# -- version -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [None, 0, 2, -1, limits.VERSION + 1, "1", 1.0, True, [1], {}])
@pytest.mark.parametrize("kind", ["req", "rep", "evt", "hb"])
def test_wrong_or_missing_version(kind: str, version: Any) -> None:
    exc = rejected(pack(envelope(kind, v=version)), "E_BAD_VERSION")  # None: v is absent
    assert exc.rid == envelope(kind)["id"]  # type: ignore[attr-defined]


def test_version_error_carries_the_request_id() -> None:
    exc = rejected(pack(envelope(v=7, id="my-id")), "E_BAD_VERSION")
    assert proto.error(None, exc).id == "my-id"


# -- kind ------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [None, "", "request", "REQ", "evt ", 1, True, [], {}])
def test_unknown_or_missing_kind(kind: Any) -> None:
    raw = envelope()
    if kind is None:
        del raw["kind"]
    else:
        raw["kind"] = kind
    exc = rejected(pack(raw))
    assert exc.rid == "r1"  # type: ignore[attr-defined]


# -- op and id ---------------------------------------------------------------------------------

BAD_OPS: list[Any] = ["", 1, True, 1.5, [], {}, b"call.info", "x" * (limits.MAX_OP + 1)]


@pytest.mark.parametrize("op", BAD_OPS)
@pytest.mark.parametrize("kind", ["req", "evt", "hb"])
def test_ill_typed_op(kind: str, op: Any) -> None:
    rejected(pack(envelope(kind, op=op)))


@pytest.mark.parametrize("kind", ["req", "evt", "hb"])
def test_missing_op(kind: str) -> None:
    rejected(pack(envelope(kind, op=None)))


@pytest.mark.parametrize("op", [o for o in BAD_OPS if o != ""])
def test_ill_typed_op_in_a_reply(op: Any) -> None:
    rejected(pack(envelope("rep", op=op)))


def test_a_reply_may_have_no_op() -> None:
    # what error(None, exc) sends back for an undecodable frame
    assert proto.decode(pack(envelope("rep", op=""))).op == ""
    assert proto.decode(pack(envelope("rep", op=None))).op == ""


def test_longest_op_and_id_are_accepted() -> None:
    rid, op = "i" * limits.MAX_ID, "o" * limits.MAX_OP
    msg = proto.decode(pack(envelope(id=rid, op=op)))
    assert (msg.id, msg.op) == (rid, op)


@pytest.mark.parametrize("rid", [None, "", 1, 0, True, 1.5, [], {}, b"r1", "i" * (limits.MAX_ID + 1)])
def test_request_needs_a_string_id(rid: Any) -> None:
    rejected(pack(envelope(id=rid)))


@pytest.mark.parametrize("kind", ["rep", "evt", "hb"])
def test_other_kinds_may_omit_the_id(kind: str) -> None:
    assert proto.decode(pack(envelope(kind, id=""))).id == ""
    assert proto.decode(pack(envelope(kind, id=None))).id == ""


@pytest.mark.parametrize("rid", [1, True, [], b"x", "i" * (limits.MAX_ID + 1)])
@pytest.mark.parametrize("kind", ["rep", "evt", "hb"])
def test_other_kinds_refuse_an_ill_typed_id(kind: str, rid: Any) -> None:
    rejected(pack(envelope(kind, id=rid)))


def test_an_over_long_id_is_not_echoed() -> None:
    """An id no client may send is echoed as "" (never a truncated copy that would match
    another request of the same client)."""
    exc = rejected(pack(envelope(id="i" * (limits.MAX_ID + 10))))
    assert exc.rid == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize("bulk", [
    {"text": "x" * (limits.MAX_STR + 1)},
    {"list": [0] * (limits.MAX_ARRAY + 1)},
    {"map": {f"k{i}": i for i in range(limits.MAX_MAP + 1)}},
    {"bin": b"x" * (limits.MAX_STR + 1)},
])
def test_the_id_is_echoed_when_another_field_breaks_a_limit(bulk: dict[str, Any]) -> None:
    """The decoder refuses the frame, but a client can still match the error to its request."""
    exc = rejected(pack(envelope(args=bulk)))
    assert exc.rid == "r1"  # type: ignore[attr-defined]
    assert "exceeds" in exc.msg


def test_no_id_is_echoed_for_a_frame_that_is_not_msgpack() -> None:
    assert rejected(b"\xc1 not msgpack").rid == ""  # type: ignore[attr-defined]


# -- bodies ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], "x", 1, True, b"x"])
def test_request_args_must_be_a_map(args: Any) -> None:
    exc = rejected(pack(envelope(args=args)))
    assert exc.rid == "r1"  # type: ignore[attr-defined]


@pytest.mark.parametrize("okv", [None, 1, 0, "true", [], {}])
def test_reply_needs_a_boolean_ok(okv: Any) -> None:
    rejected(pack(envelope("rep", ok=okv)))


@pytest.mark.parametrize("body", [[], "x", 1, True])
def test_reply_result_and_error_must_be_maps(body: Any) -> None:
    rejected(pack(envelope("rep", result=body)))
    rejected(pack(envelope("rep", ok=False, result=None, error=body)))


def test_reply_bodies_default_to_empty_maps() -> None:
    assert proto.decode(pack(envelope("rep", result=None))).result == {}
    failed = proto.decode(pack(envelope("rep", ok=False, result=None)))
    assert (failed.ok, failed.error) == (False, {})


@pytest.mark.parametrize("obj", [None, 1, True, [], b"c1", "o" * (limits.MAX_ID + 1)])
def test_event_needs_a_string_obj(obj: Any) -> None:
    rejected(pack(envelope("evt", obj=obj)))


@pytest.mark.parametrize("seq", [None, -1, True, False, "1", 1.0, []])
def test_event_needs_a_non_negative_integer_seq(seq: Any) -> None:
    rejected(pack(envelope("evt", seq=seq)))


@pytest.mark.parametrize("ts", [None, "12.5", True, [], {}])
def test_event_needs_a_numeric_ts(ts: Any) -> None:
    rejected(pack(envelope("evt", ts=ts)))


@pytest.mark.parametrize("kind", ["evt", "hb"])
@pytest.mark.parametrize("data", [[], "x", 1, True])
def test_event_and_heartbeat_data_must_be_a_map(kind: str, data: Any) -> None:
    rejected(pack(envelope(kind, data=data)))


@pytest.mark.parametrize("kind", ["evt", "hb"])
def test_event_and_heartbeat_data_default_to_empty(kind: str) -> None:
    assert proto.decode(pack(envelope(kind, data=None))).data == {}


def test_unknown_top_level_keys_are_ignored() -> None:
    msg = proto.decode(pack({**envelope(), "future": {"x": 1}}))
    assert msg == proto.req("call.info", {"call": "c1"}, "r1")


def test_decode_leaves_args_unchecked() -> None:
    # argument checking is check_request's job: decode accepts an unknown op with odd args
    msg = proto.decode(pack(envelope(op="no.such", args={"whatever": [1, 2]})))
    assert (msg.op, msg.args) == ("no.such", {"whatever": [1, 2]})


def _depth_and_keys_ok(value: Any, depth: int = 1) -> bool:
    """What the decoder's shape check means, written plainly: maps keyed by strings only, and
    no map or array nested deeper than MAX_DEPTH (the envelope is depth 1)."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return False
        children: Any = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return True
    return depth <= limits.MAX_DEPTH and all(_depth_and_keys_ok(c, depth + 1) for c in children)


_LEAVES = st.one_of(st.integers(-2**63, 2**64 - 1), st.booleans(), st.text(max_size=3), st.binary(max_size=3),
                    st.none(), st.floats(allow_nan=False))
_NESTED = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=3), st.binary(min_size=1, max_size=2)), inner,
                    max_size=4)), max_leaves=60)


@given(_NESTED)
def test_the_shape_check_refuses_exactly_bytes_keys_and_deep_nesting(data: Any) -> None:
    """Any msgpack map, its args nested at random: decode() refuses it (E_BAD_MSG) exactly
    when a key is not a string or nesting passes MAX_DEPTH."""
    raw = envelope("req", args={"x": data})
    frame = pack(raw)
    try:
        back = msgpack.unpackb(frame, raw=False, strict_map_key=False)
    except Exception:  # noqa: BLE001 - a shape msgpack itself cannot give back: not our check
        return
    if _depth_and_keys_ok(back):
        assert proto.decode(frame).args == back["args"]
    else:
        with pytest.raises(ProtoError) as err:
            proto.decode(frame)
        assert err.value.code == "E_BAD_MSG"
