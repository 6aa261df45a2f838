"""check_request and check_event: ops, events, required fields, types, ranges, agent-only args."""

from __future__ import annotations

from typing import Any

import pytest

import proto
from proto import EVENTS, OPS, ProtoError, limits
from proto.schema import Field

from .samples import AGENT_EXTRA, CLIENT_ARGS, EVENT_DATA, WRONG_TYPES, coordinator_args


def request(op: str, args: dict[str, Any]) -> proto.Message:
    """A request as the receiver sees it: through the wire."""
    return proto.decode(proto.encode(proto.req(op, args, "r1")))


def refused(op: str, args: dict[str, Any], code: str = "E_BAD_ARGS", *,
            from_coordinator: bool = False) -> ProtoError:
    with pytest.raises(ProtoError) as info:
        proto.check_request(request(op, args), from_coordinator=from_coordinator)
    assert info.value.code == code, info.value
    assert info.value.op == op
    return info.value


def client_fields() -> list[tuple[str, str]]:
    return [(op, f.name) for op, spec in sorted(OPS.items()) for f in spec.args]


def required_fields(from_coordinator: bool) -> list[tuple[str, str]]:
    out = []
    for op, spec in sorted(OPS.items()):
        fields = {f.name: f for f in spec.args + (spec.agent_args if from_coordinator else ())}
        out += [(op, name) for name, f in fields.items() if f.required]
    return out


def field(op: str, name: str) -> Field:
    return {f.name: f for f in OPS[op].args + OPS[op].agent_args}[name]


# -- valid requests --------------------------------------------------------------------------

@pytest.mark.parametrize("op", sorted(OPS))
def test_full_client_request_is_accepted(op: str) -> None:
    proto.check_request(request(op, CLIENT_ARGS[op]))


@pytest.mark.parametrize("op", sorted(OPS))
def test_forwarded_request_is_accepted_from_the_coordinator(op: str) -> None:
    proto.check_request(request(op, coordinator_args(op)), from_coordinator=True)


@pytest.mark.parametrize("op", sorted(OPS))
def test_only_the_required_fields_suffice(op: str) -> None:
    spec = OPS[op]
    args = {f.name: CLIENT_ARGS[op][f.name] for f in spec.args if f.required}
    proto.check_request(request(op, args))


@pytest.mark.parametrize(("op", "name"), [(op, n) for op, n in client_fields()
                                          if not field(op, n).required])
def test_null_optional_field_counts_as_absent(op: str, name: str) -> None:
    proto.check_request(request(op, {**CLIENT_ARGS[op], name: None}))


# -- unknown ops and args --------------------------------------------------------------------

@pytest.mark.parametrize("op", ["", "no.such", "call.MAKE", "call.make ", "hb", "call.state"])
def test_unknown_op(op: str) -> None:
    with pytest.raises(ProtoError) as info:
        proto.check_request(proto.req(op, {}, "r1"))
    assert (info.value.code, info.value.op) == ("E_UNKNOWN_OP", op)


@pytest.mark.parametrize("op", sorted(OPS))
def test_unknown_extra_arg_is_refused(op: str) -> None:
    exc = refused(op, {**CLIENT_ARGS[op], "surprise": 1})
    assert "surprise" in exc.msg
    refused(op, {**coordinator_args(op), "surprise": 1}, from_coordinator=True)


def test_misspelt_arg_is_refused() -> None:
    refused("call.hangup", {"call": "c1", "cdoe": 486})


# -- required fields -------------------------------------------------------------------------

@pytest.mark.parametrize(("op", "name"), required_fields(from_coordinator=False))
def test_missing_required_arg(op: str, name: str) -> None:
    args = dict(CLIENT_ARGS[op])
    del args[name]
    exc = refused(op, args)
    assert name in exc.msg
    refused(op, {**args, name: None})  # a null is no value


@pytest.mark.parametrize(("op", "name"), required_fields(from_coordinator=True))
def test_missing_required_arg_from_the_coordinator(op: str, name: str) -> None:
    args = coordinator_args(op)
    del args[name]
    refused(op, args, from_coordinator=True)


# -- types -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("op", "name", "bad"), [
    (op, name, bad) for op, name in client_fields() for bad in WRONG_TYPES[field(op, name).kind]])
def test_ill_typed_arg(op: str, name: str, bad: Any) -> None:
    exc = refused(op, {**CLIENT_ARGS[op], name: bad})
    assert name in exc.msg


@pytest.mark.parametrize(("op", "name"), [("acc.create", "auto_answer"), ("call.answer", "code"),
                                          ("call.hangup", "code"), ("agent.hello", "pid"),
                                          ("agent.hello", "capacity"), ("agent.hello", "calls")])
@pytest.mark.parametrize("flag", [True, False])
def test_bool_is_not_an_int(op: str, name: str, flag: bool) -> None:
    refused(op, {**CLIENT_ARGS[op], name: flag})


def test_float_is_not_an_int() -> None:
    refused("call.answer", {"call": "c1", "code": 200.0})


def test_acc_cfg_must_be_a_map() -> None:
    args = {**coordinator_args("call.make"), "acc_cfg": "sip:a@b"}
    refused("call.make", args, from_coordinator=True)


# -- ranges ----------------------------------------------------------------------------------

INT_BOUNDS = [(op, name) for op, spec in sorted(OPS.items()) for f in spec.args + spec.agent_args
              if f.kind == "int" and (f.lo is not None or f.hi is not None)
              for name in [f.name]]


@pytest.mark.parametrize(("op", "name"), INT_BOUNDS)
def test_int_bounds_are_inclusive(op: str, name: str) -> None:
    f = field(op, name)
    for edge in (f.lo, f.hi):
        if edge is not None:
            proto.check_request(request(op, {**CLIENT_ARGS[op], name: int(edge)}))
    if f.lo is not None:
        refused(op, {**CLIENT_ARGS[op], name: int(f.lo) - 1})
    if f.hi is not None:
        refused(op, {**CLIENT_ARGS[op], name: int(f.hi) + 1})


@pytest.mark.parametrize("code", [0, 1, 99, 700, 999, -200, 2**40])
@pytest.mark.parametrize("op", ["call.answer", "call.hangup"])
def test_out_of_range_sip_codes(op: str, code: int) -> None:
    refused(op, {"call": "c1", "code": code})


@pytest.mark.parametrize("code", [100, 180, 183, 200, 486, 603, 699])
def test_in_range_sip_codes(code: int) -> None:
    proto.check_request(request("call.answer", {"call": "c1", "code": code}))
    proto.check_request(request("call.hangup", {"call": "c1", "code": code}))


def test_capacity_is_bounded() -> None:
    refused("agent.hello", {**CLIENT_ARGS["agent.hello"], "capacity": 65})
    refused("agent.hello", {**CLIENT_ARGS["agent.hello"], "pid": -1})


@pytest.mark.parametrize(("op", "name", "most"), [
    ("acc.delete", "acc", limits.MAX_ID), ("call.info", "call", limits.MAX_ID),
    ("call.make", "call", limits.MAX_ID), ("acc.create", "acc", limits.MAX_ID),
    ("agent.hello", "name", limits.MAX_AGENT_NAME)])
def test_object_ids_and_names_are_bounded(op: str, name: str, most: int) -> None:
    proto.check_request(request(op, {**CLIENT_ARGS[op], name: "x" * most}))
    refused(op, {**CLIENT_ARGS[op], name: "x" * (most + 1)})
    refused(op, {**CLIENT_ARGS[op], name: ""})


def test_reason_is_bounded() -> None:
    proto.check_request(request("call.hangup", {"call": "c1", "reason": "r" * 128}))
    refused("call.hangup", {"call": "c1", "reason": "r" * 129})


# -- URIs and headers ------------------------------------------------------------------------

@pytest.mark.parametrize("uri", ["", "alice@127.0.0.1", "tel:+15551234", "http://example.com",
                                 "sip:", "sip:a b@h", "sip:alice@h\r\nVia: x", "sip:a@h\n",
                                 "sip:a\x00@h", "sip:" + "a" * 600, '"Alice" <tel:1>', "<>"])
@pytest.mark.parametrize("op", ["acc.create", "call.make"])
def test_bad_uri_is_refused(op: str, uri: str) -> None:
    refused(op, {**CLIENT_ARGS[op], "uri": uri})


@pytest.mark.parametrize("headers", [
    {"X-A": "b\r\nVia: evil"}, {"X-A": "b\n"}, {"X-A": "b\r"}, {"X-A\r\nVia": "b"},
    {"X:A": "b"}, {"X A": "b"}, {"": "b"}, {"X-A": 1}, {"X-A": None}, {"X-A": ["b"]},
    {f"X-{i}": "v" for i in range(limits.MAX_HEADERS + 1)},
])
@pytest.mark.parametrize("op", ["call.make", "call.answer", "call.hangup"])
def test_bad_headers_are_refused(op: str, headers: dict[str, Any]) -> None:
    refused(op, {**CLIENT_ARGS[op], "headers": headers})


def test_most_headers_allowed() -> None:
    headers = {f"X-{i}": "v" for i in range(limits.MAX_HEADERS)}
    proto.check_request(request("call.hangup", {"call": "c1", "headers": headers}))


# -- agent-only args -------------------------------------------------------------------------

def test_agent_only_args_are_refused_from_clients() -> None:
    exc = refused("call.make", coordinator_args("call.make"))
    assert "acc_cfg" in exc.msg


def test_agent_only_args_are_accepted_from_the_coordinator() -> None:
    proto.check_request(request("call.make", coordinator_args("call.make")), from_coordinator=True)


def test_pre_chosen_ids_are_optional_for_clients_but_required_for_agents() -> None:
    for op, name in (("acc.create", "acc"), ("call.make", "call")):
        args = {k: v for k, v in CLIENT_ARGS[op].items() if k != name}
        proto.check_request(request(op, args))
        # the coordinator always forwards the id it chose
        agent_extra = {k: v for k, v in AGENT_EXTRA[op].items() if k != name}
        refused(op, {**args, **agent_extra}, from_coordinator=True)


def test_ops_without_agent_args_are_unchanged_from_the_coordinator() -> None:
    proto.check_request(request("call.info", {"call": "c1"}), from_coordinator=True)
    refused("call.info", {"call": "c1", "acc_cfg": {}}, from_coordinator=True)


def test_check_request_does_not_modify_args() -> None:
    msg = request("call.make", coordinator_args("call.make"))
    proto.check_request(msg, from_coordinator=True)
    assert msg.args == coordinator_args("call.make")


# -- events ----------------------------------------------------------------------------------

def event(name: str, data: dict[str, Any]) -> proto.Message:
    return proto.decode(proto.encode(proto.evt(name, "c1", 1, data, ts=1.0)))


def event_refused(name: str, data: dict[str, Any], code: str = "E_BAD_ARGS") -> ProtoError:
    with pytest.raises(ProtoError) as info:
        proto.check_event(event(name, data))
    assert info.value.code == code, info.value
    return info.value


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_valid_event_is_accepted(name: str) -> None:
    proto.check_event(event(name, EVENT_DATA[name]))


@pytest.mark.parametrize("name", ["", "no.such", "call.make", "CALL.STATE", "hb"])
def test_unknown_event(name: str) -> None:
    with pytest.raises(ProtoError) as info:
        proto.check_event(proto.Message("evt", name, obj="c1", data={}))
    assert (info.value.code, info.value.op) == ("E_UNKNOWN_OP", name)


@pytest.mark.parametrize(("name", "key"), [(n, f.name) for n, spec in sorted(EVENTS.items())
                                           for f in spec.data if f.required])
def test_event_missing_required_data(name: str, key: str) -> None:
    data = dict(EVENT_DATA[name])
    del data[key]
    event_refused(name, data)


@pytest.mark.parametrize(("name", "key", "bad"), [
    (n, f.name, bad) for n, spec in sorted(EVENTS.items()) for f in spec.data
    for bad in WRONG_TYPES[f.kind]])
def test_event_ill_typed_data(name: str, key: str, bad: Any) -> None:
    event_refused(name, {**EVENT_DATA[name], key: bad})


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_event_unknown_data_field(name: str) -> None:
    event_refused(name, {**EVENT_DATA[name], "extra": 1})


def test_event_optional_data_may_be_omitted() -> None:
    data = {k: v for k, v in EVENT_DATA["agent.error"].items() if k != "trace"}
    proto.check_event(event("agent.error", data))
