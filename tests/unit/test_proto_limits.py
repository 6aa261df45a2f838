"""The size limits of proto.limits, each checked on both sides of its boundary."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

import proto
from proto import ProtoError, limits


def pack(obj: Any) -> bytes:
    return bytes(msgpack.packb(obj, use_bin_type=True))


def hb_frame(data: dict[str, Any]) -> bytes:
    return pack({"v": 1, "kind": "hb", "id": "h", "op": "hb", "data": data})


def code_of(frame: bytes) -> str:
    """"" if ``frame`` decodes, else the code of the ProtoError."""
    try:
        proto.decode(frame)
    except ProtoError as exc:
        return exc.code
    return ""


def nested(levels: int, kind: str, leaf: Any = 1) -> Any:
    """``levels`` maps or arrays, one inside the other, with ``leaf`` in the innermost."""
    value = leaf
    for _ in range(levels):
        value = {"k": value} if kind == "map" else [value]
    return value


# -- frame -----------------------------------------------------------------------------------

def frame_of_size(size: int) -> bytes:
    """A valid heartbeat frame of exactly ``size`` bytes (for sizes above ~5 KiB)."""
    chunk = "x" * 1000
    count = (size - 5_000) // 1003  # each chunk packs to 3 + 1000 bytes
    data: dict[str, Any] = {"chunks": [chunk] * count, "pad": "p" * 300}
    short = size - len(hb_frame(data))
    assert 0 <= short < limits.MAX_STR - 300
    data["pad"] = "p" * (300 + short)  # str16 either way: the header stays 3 bytes
    frame = hb_frame(data)
    assert len(frame) == size
    return frame


def test_a_frame_of_exactly_max_frame_bytes_is_accepted() -> None:
    assert code_of(frame_of_size(limits.MAX_FRAME)) == ""


def test_a_valid_frame_one_byte_over_max_frame_is_refused() -> None:
    assert code_of(frame_of_size(limits.MAX_FRAME + 1)) == "E_BAD_MSG"


def test_oversize_garbage_is_refused_before_parsing() -> None:
    with pytest.raises(ProtoError, match="exceeds") as info:
        proto.decode(b"\x00" * (limits.MAX_FRAME + 1))
    assert info.value.code == "E_BAD_MSG"


def test_encode_refuses_to_build_an_oversize_frame() -> None:
    proto.encode(proto.hb({"a": ["x" * 1000] * 1000}))  # about 1 MB: still fits
    with pytest.raises(ProtoError) as info:
        proto.encode(proto.hb({"a": ["x" * 1000] * 1100}))
    assert info.value.code == "E_BAD_MSG"


# -- strings, binaries, arrays, maps ---------------------------------------------------------

def test_string_length_limit() -> None:
    assert code_of(hb_frame({"s": "a" * limits.MAX_STR})) == ""
    assert code_of(hb_frame({"s": "a" * (limits.MAX_STR + 1)})) == "E_BAD_MSG"


def test_string_limit_counts_utf8_bytes() -> None:
    assert code_of(hb_frame({"s": "é" * (limits.MAX_STR // 2)})) == ""
    assert code_of(hb_frame({"s": "é" * (limits.MAX_STR // 2 + 1)})) == "E_BAD_MSG"


def test_string_limit_applies_to_keys_and_envelope_fields() -> None:
    assert code_of(hb_frame({"k" * (limits.MAX_STR + 1): 1})) == "E_BAD_MSG"
    frame = pack({"v": 1, "kind": "req", "id": "r", "op": "x" * (limits.MAX_STR + 1), "args": {}})
    assert code_of(frame) == "E_BAD_MSG"


def test_binary_length_limit() -> None:
    assert code_of(hb_frame({"b": b"\x00" * limits.MAX_STR})) == ""
    assert code_of(hb_frame({"b": b"\x00" * (limits.MAX_STR + 1)})) == "E_BAD_MSG"


def test_array_length_limit() -> None:
    assert code_of(hb_frame({"a": [0] * limits.MAX_ARRAY})) == ""
    assert code_of(hb_frame({"a": [0] * (limits.MAX_ARRAY + 1)})) == "E_BAD_MSG"


def test_map_size_limit() -> None:
    fits = {f"k{i}": i for i in range(limits.MAX_MAP)}
    assert code_of(hb_frame({"m": fits})) == ""
    assert code_of(hb_frame({"m": {**fits, "one-more": 0}})) == "E_BAD_MSG"


def test_map_size_limit_applies_to_the_envelope() -> None:
    extra = {f"x{i}": 0 for i in range(limits.MAX_MAP - 5)}
    base = {"v": 1, "kind": "hb", "id": "", "op": "hb", "data": {}}
    assert code_of(pack({**base, **extra})) == ""
    assert code_of(pack({**base, **extra, "one-more": 0})) == "E_BAD_MSG"


# -- nesting ---------------------------------------------------------------------------------
# The envelope is depth 1 and its data map depth 2; nested(n) inside data adds depths 3..2+n.

@pytest.mark.parametrize("kind", ["map", "list"])
@pytest.mark.parametrize("leaf", [1, "s", None, [], {}])
def test_containers_at_max_depth_are_accepted(kind: str, leaf: Any) -> None:
    levels = limits.MAX_DEPTH - 2
    if leaf in ([], {}):
        levels -= 1  # the leaf is a container itself, at depth MAX_DEPTH
    assert code_of(hb_frame({"d": nested(levels, kind, leaf)})) == ""


@pytest.mark.parametrize("kind", ["map", "list"])
@pytest.mark.parametrize("leaf", [1, [], {}])
def test_a_container_deeper_than_max_depth_is_refused(kind: str, leaf: Any) -> None:
    levels = limits.MAX_DEPTH - 1 if leaf == 1 else limits.MAX_DEPTH - 2
    with pytest.raises(ProtoError, match="nesting") as info:
        proto.decode(hb_frame({"d": nested(levels, kind, leaf)}))
    assert info.value.code == "E_BAD_MSG"
    assert info.value.rid == "h"  # type: ignore[attr-defined]


def test_depth_limit_applies_to_request_args_too() -> None:
    def frame(levels: int) -> bytes:
        return pack({"v": 1, "kind": "req", "id": "r", "op": "call.make",
                     "args": {"acc_cfg": nested(levels, "map")}})

    assert code_of(frame(limits.MAX_DEPTH - 2)) == ""
    assert code_of(frame(limits.MAX_DEPTH - 1)) == "E_BAD_MSG"


def test_mixed_maps_and_arrays_count_alike() -> None:
    ok: Any = 1
    for i in range(limits.MAX_DEPTH - 2):
        ok = [ok] if i % 2 else {"k": ok}
    assert code_of(hb_frame({"d": ok})) == ""
    assert code_of(hb_frame({"d": [ok]})) == "E_BAD_MSG"


@pytest.mark.parametrize("opener", [b"\x91", b"\x81\xa1k"])
def test_pathologically_deep_frames_are_refused_without_recursion_error(opener: bytes) -> None:
    assert code_of(b"\x81\xa1d" + opener * 100_000 + b"\x00") == "E_BAD_MSG"
