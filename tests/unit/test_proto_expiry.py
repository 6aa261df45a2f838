"""Requests' deadlines: the optional envelope field ``expires`` and check_expiry."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

import proto
from proto import ProtoError


def _frame(**extra: Any) -> bytes:
    raw = {"v": 1, "kind": "req", "id": "r1", "op": "call.hangup", "args": {"call": "c1"}, **extra}
    return msgpack.packb(raw, use_bin_type=True)


def test_expires_round_trips_and_is_absent_by_default() -> None:
    msg = proto.req("call.hangup", {"call": "c1"}, "r1", expires=1_800_000_000.25)
    back = proto.decode(proto.encode(msg))
    assert back.expires == 1_800_000_000.25 and back == msg
    plain = proto.req("call.hangup", {"call": "c1"}, "r1")
    assert "expires" not in plain.to_wire() and proto.decode(proto.encode(plain)).expires == 0.0
    assert proto.decode(_frame(expires=1_800_000_000)).expires == 1_800_000_000.0
    assert proto.decode(_frame(expires=None)).expires == 0.0


@pytest.mark.parametrize("bad", ["soon", True, 0, -5, float("inf"), float("nan"), [1], {}])
def test_a_malformed_expires_is_refused(bad: Any) -> None:
    with pytest.raises(ProtoError) as err:
        proto.decode(_frame(expires=bad))
    assert err.value.code == "E_BAD_MSG" and "expires" in err.value.msg
    assert err.value.rid == "r1"  # type: ignore[attr-defined]


def test_check_expiry_refuses_only_past_deadlines() -> None:
    msg = proto.req("call.make", {"acc": "a", "uri": "sip:b@127.0.0.1"}, "r1", expires=100.0)
    proto.check_expiry(msg, 99.5)
    proto.check_expiry(msg, 100.0)
    with pytest.raises(ProtoError) as err:
        proto.check_expiry(msg, 100.5)
    assert err.value.code == "E_EXPIRED" and err.value.op == "call.make"
    proto.check_expiry(proto.req("lib.status", {}, "r2"), 1e12)  # no deadline: never expires
    assert proto.error(msg, err.value).error == {
        "code": "E_EXPIRED", "status": 0, "obj": "", "op": "call.make",
        "msg": "the request expired 0.500 s ago (not executed)"}
