"""proto.schema (Field, validate, check_uri, check_headers), proto.errors and the op registry."""

from __future__ import annotations

from typing import Any

import pytest

from proto import ERROR_CODES, EVENTS, OPS, ProtoError, limits
from proto.schema import MAX_URI, Field, check_headers, check_uri, validate


def bad_args(fn: Any, *args: Any) -> ProtoError:
    with pytest.raises(ProtoError) as info:
        fn(*args)
    assert info.value.code == "E_BAD_ARGS"
    return info.value


# -- check_uri -------------------------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "sip:alice@127.0.0.1", "sips:bob@example.com:5061", "SIP:alice@h", "Sips:a@h",
    "sip:alice@h;transport=tcp", "sip:h", "<sip:alice@h>", '"Alice Smith" <sip:alice@h>',
    "Alice <sip:alice@h>", " sip:alice@h ", "sip:alice@[::1]:5060",
    "sip:" + "a" * (MAX_URI - 4),
])
def test_uri_accepted(uri: str) -> None:
    check_uri(uri, "here")


@pytest.mark.parametrize("uri", [
    "", "sip:", "sips:", "alice@h", "tel:+15551234", "http://h/", "sipx:a@h", ":a@h",
    "sip:a b@h", "sip:a@h x", "sip:a@h\r\n", "sip:a@h\n", "sip:a@h\r", "sip:a\x00@h",
    '"A" <tel:1>', "<>", "<sip:>", "sip:" + "a" * (MAX_URI - 3),
])
def test_uri_refused(uri: str) -> None:
    exc = bad_args(check_uri, uri, "acc.create: 'uri'")
    assert exc.msg.startswith("acc.create: 'uri'")


# -- check_headers ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [
    {}, {"X-A": "b"}, {"Subject": "a: colon, in; the value"}, {"X-Empty": ""},
    {f"X-{i}": str(i) for i in range(limits.MAX_HEADERS)},
])
def test_headers_accepted(headers: dict[Any, Any]) -> None:
    check_headers(headers, "here")


@pytest.mark.parametrize("headers", [
    {"": "b"}, {"X:A": "b"}, {"X A": "b"}, {"X\rA": "b"}, {"X\nA": "b"},
    {"X-A": "b\r\nVia: x"}, {"X-A": "\n"}, {"X-A": "\r"},
    {1: "b"}, {b"X-A": "b"}, {"X-A": 1}, {"X-A": None}, {"X-A": b"b"}, {"X-A": ["b"]},
    {f"X-{i}": str(i) for i in range(limits.MAX_HEADERS + 1)},
])
def test_headers_refused(headers: dict[Any, Any]) -> None:
    bad_args(check_headers, headers, "here")


# -- Field -----------------------------------------------------------------------------------

def test_unknown_field_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        Field("x", "integer")


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("str", ["", "x"], [1, None, b"x", True]),
    ("int", [0, -5, 2**63], [True, 1.0, "1", None]),
    ("float", [0, 1.5, -2], [True, False, "1.5", None]),
    ("bool", [True, False], [1, 0, "true", None]),
    ("map", [{}, {"a": 1}], [[], "x", None]),
    ("list", [[], [1, "a"]], [{}, "x", None]),
    ("any", [None, 1, 1.5, "x", True, [], {}], [b"x", (1,), object()]),
])
def test_field_kinds(kind: str, good: list[Any], bad: list[Any]) -> None:
    f = Field("x", kind)
    for value in good:
        f.check(value, "w")
    for value in bad:
        bad_args(f.check, value, "w")


def test_numeric_bounds() -> None:
    f = Field("n", "float", lo=0.5, hi=2.5)
    for value in (0.5, 1, 2.5):
        f.check(value, "w")
    for value in (0.49, 2.51, -1):
        bad_args(f.check, value, "w")


def test_string_bounds_and_choices() -> None:
    f = Field("s", "str", lo=2, hi=4, choices=("ab", "abcd", "abcde"))
    f.check("ab", "w")
    f.check("abcd", "w")
    bad_args(f.check, "a", "w")       # too short
    bad_args(f.check, "abcde", "w")   # too long, though a choice
    bad_args(f.check, "abc", "w")     # not a choice


def test_error_message_names_the_place_and_field() -> None:
    exc = bad_args(Field("code", "int", hi=699).check, 700, "call.answer")
    assert exc.msg == "call.answer: 'code' must be <= 699"


# -- validate --------------------------------------------------------------------------------

FIELDS = (Field("a", "int", True), Field("b", "str"))


def test_validate_returns_the_args() -> None:
    args = {"a": 1, "b": "x"}
    assert validate(FIELDS, args, "w") is args


@pytest.mark.parametrize("args", [None, [], "a=1", 1])
def test_validate_needs_a_map(args: Any) -> None:
    bad_args(validate, FIELDS, args, "w")


@pytest.mark.parametrize("args", [{}, {"b": "x"}, {"a": None}, {"a": 1, "c": 2}, {"a": "1"},
                                  {"a": 1, "b": 2}, {1: 1, "a": 1}])
def test_validate_refuses(args: dict[Any, Any]) -> None:
    bad_args(validate, FIELDS, args, "w")


# -- ProtoError ------------------------------------------------------------------------------

def test_proto_error_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError):
        ProtoError("E_NOPE", "x")


def test_proto_error_wire_form() -> None:
    exc = ProtoError("E_PJSIP", "refused", status=171039, obj="c3", op="call.answer")
    assert str(exc) == "E_PJSIP: refused"
    assert exc.as_dict() == {"code": "E_PJSIP", "status": 171039, "obj": "c3", "op": "call.answer",
                             "msg": "refused"}
    assert ProtoError("E_TIMEOUT", "t").as_dict() == {"code": "E_TIMEOUT", "status": 0, "obj": "",
                                                      "op": "", "msg": "t"}


def test_error_codes_are_symbolic_and_documented() -> None:
    for code, meaning in ERROR_CODES.items():
        assert code.startswith("E_") and code.isupper()
        assert meaning


# -- the registry ----------------------------------------------------------------------------

@pytest.mark.parametrize("op", sorted(OPS))
def test_op_specs_are_coherent(op: str) -> None:
    spec = OPS[op]
    assert spec.name == op and "." in op and len(op) <= limits.MAX_OP
    assert spec.target in ("coordinator", "agent", "account", "call", "media", "buddy",
                           "agent-to-coordinator", "coordinator-to-agent")
    assert spec.doc
    names = [f.name for f in spec.args]
    assert len(names) == len(set(names))
    for f in spec.args + spec.result + spec.agent_args:
        assert f.doc, f"{op}.{f.name} has no doc"
    # an agent-only field either is new or tightens a client field of the same kind
    client = {f.name: f for f in spec.args}
    for f in spec.agent_args:
        assert f.name not in client or client[f.name].kind == f.kind


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_event_specs_are_coherent(name: str) -> None:
    spec = EVENTS[name]
    assert spec.name == name and "." in name and name not in OPS
    assert spec.doc and all(f.doc for f in spec.data)
