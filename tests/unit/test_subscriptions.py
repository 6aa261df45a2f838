"""coordinator.server.subscriptions: filter parsing, event keys, matching, the subscription table, call
details for snapshots and the snapshot's size bounds (pure: no sockets)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from coordinator.server.subscriptions import (
    CallStates,
    EventKeys,
    Filter,
    Subscription,
    SubscriptionTable,
    account_visible,
    call_visible,
    event_keys,
    fit_snapshot,
    kind_matches,
    parse_exprs,
    parse_filter,
)
from proto import ProtoError, limits


def keys(op: str, obj: str, data: dict[str, Any] | None = None, account: str = "") -> EventKeys:
    return event_keys(op, obj, data or {}, account)


def sub(include: dict[str, Any] | None = None, exclude: dict[str, Any] | None = None) -> Subscription:
    return Subscription("s1", parse_filter(include, "include"), parse_filter(exclude, "exclude"))


STATE = keys("call.state", "c1", {"state": "CALLING"}, account="alice")
MEDIA = keys("call.media_state", "c1", {"media": "ACTIVE"}, account="alice")
BOB_STATE = keys("call.state", "bob:in1", {"state": "INCOMING"}, account="bob")
INCOMING = keys("acc.incoming_call", "bob", {"call": "bob:in1"})
AGENT_ERR = keys("agent.error", "agent-1", {"where": "onCallState", "msg": "x"})
LOAD = keys("load.progress", "L1", {"started": 3})
ALL = [STATE, MEDIA, BOB_STATE, INCOMING, AGENT_ERR, LOAD]


# -- kind prefixes ---------------------------------------------------------------------------

@pytest.mark.parametrize(("prefix", "op", "expected"), [
    ("call", "call.state", True), ("call.", "call.state", True), ("call", "call.media_state", True),
    ("call.state", "call.state", True), ("call.state", "call.state.x", True),
    ("call.st", "call.state", False), ("call.state", "call.media_state", False),
    ("call", "callx.state", False), ("acc", "call.state", False), ("call.state.", "call.state", True),
])
def test_kind_prefix_matches_whole_segments(prefix: str, op: str, expected: bool) -> None:
    assert kind_matches(prefix, op) is expected


# -- event keys ------------------------------------------------------------------------------

def test_event_keys_follow_what_obj_names() -> None:
    assert EventKeys("call.state", account="alice", call="c1") == STATE
    assert EventKeys("acc.incoming_call", account="bob", call="bob:in1") == INCOMING
    assert EventKeys("agent.error") == AGENT_ERR
    assert EventKeys("load.progress", run="L1") == LOAD
    # an account passed for an event that is not about a call or an account is ignored
    assert keys("agent.error", "agent-1", account="alice").account == ""
    # a run named in the data counts, whatever obj names
    assert keys("call.state", "c9", {"run": "L2"}, account="a").run == "L2"
    assert keys("call.state", "c9", {"run": 7}).run == ""
    # an unknown event name still has its op; nothing else can be told
    assert keys("future.thing", "x") == EventKeys("future.thing")


# -- filter parsing --------------------------------------------------------------------------

def test_parse_filter_accepts_and_normalises() -> None:
    f = parse_filter({"events": ["call.", "acc", "call."], "accounts": ["a1"], "calls": None}, "w")
    assert f == Filter(events=("call.", "acc"), accounts=("a1",))
    assert f.to_wire() == {"events": ["call.", "acc"], "accounts": ["a1"]}
    assert parse_filter(None, "w").is_empty() and parse_filter({}, "w").is_empty()


@pytest.mark.parametrize("raw", [
    [], "call.", 1, {"event": ["call."]}, {"events": "call."}, {"events": []}, {"events": [1]},
    {"events": [""]}, {"events": ["."]}, {"events": ["x" * (limits.MAX_OP + 1)]},
    {"accounts": ["x" * (limits.MAX_ID + 1)]}, {"calls": [None]}, {"runs": [b"L1"]},
    {"accounts": [f"a{i}" for i in range(limits.MAX_FILTER_ITEMS + 1)]}, {"calls": {"c1": 1}},
])
def test_parse_filter_refuses(raw: Any) -> None:
    with pytest.raises(ProtoError) as info:
        parse_filter(raw, "events.subscribe: 'include'")
    assert info.value.code == "E_BAD_ARGS"
    assert info.value.msg.startswith("events.subscribe: 'include'")


def test_parse_filter_bounds_are_inclusive() -> None:
    parse_filter({"accounts": ["x" * limits.MAX_ID] * limits.MAX_FILTER_ITEMS,
                  "events": ["e" * limits.MAX_OP]}, "w")


# -- matching --------------------------------------------------------------------------------

def delivered(s: Subscription) -> list[EventKeys]:
    return [k for k in ALL if s.accepts(k)]


def test_no_criteria_means_every_event() -> None:
    assert delivered(sub()) == ALL
    assert delivered(sub({}, {})) == ALL  # an exclude without criteria excludes nothing


def test_criteria_of_one_kind_are_ored() -> None:
    assert delivered(sub({"events": ["acc", "agent"]})) == [INCOMING, AGENT_ERR]
    assert delivered(sub({"accounts": ["alice", "bob"]})) == [STATE, MEDIA, BOB_STATE, INCOMING]
    assert delivered(sub({"calls": ["c1"]})) == [STATE, MEDIA]


def test_criteria_of_different_kinds_are_anded() -> None:
    assert delivered(sub({"events": ["call.state"], "accounts": ["alice"]})) == [STATE]
    assert delivered(sub({"events": ["acc"], "calls": ["c1"]})) == []


def test_an_incoming_call_announcement_belongs_to_the_call_it_announces() -> None:
    assert delivered(sub({"calls": ["bob:in1"]})) == [BOB_STATE, INCOMING]


def test_runs() -> None:
    assert delivered(sub({"runs": ["L1"]})) == [LOAD]
    assert delivered(sub({"runs": ["L2"]})) == []


def test_exclude() -> None:
    assert delivered(sub(exclude={"events": ["call.media_state"]})) == [
        STATE, BOB_STATE, INCOMING, AGENT_ERR, LOAD]
    assert delivered(sub({"events": ["call"]}, {"accounts": ["bob"]})) == [STATE, MEDIA]
    # exclude criteria are ANDed too: only alice's media events go
    assert delivered(sub(exclude={"events": ["call.media_state"], "accounts": ["alice"]})) == [
        STATE, BOB_STATE, INCOMING, AGENT_ERR, LOAD]
    # an event without an account is never excluded by an accounts criterion
    assert AGENT_ERR in delivered(sub(exclude={"accounts": ["alice", "bob"]}))


def test_snapshot_visibility_follows_the_events_a_subscription_delivers() -> None:
    calls_only = sub({"events": ["call.state"]})
    assert call_visible(calls_only, "c1", "alice") and not account_visible(calls_only, "alice")
    alice = sub({"accounts": ["alice"]})
    assert account_visible(alice, "alice") and not account_visible(alice, "bob")
    assert call_visible(alice, "c1", "alice") and not call_visible(alice, "c2", "bob")
    no_media = sub(exclude={"events": ["call.media_state"]})
    assert account_visible(no_media, "bob") and call_visible(no_media, "c1", "alice")
    one_call = sub({"calls": ["c1"]})
    assert call_visible(one_call, "c1", "a") and not account_visible(one_call, "a")


# -- the table -------------------------------------------------------------------------------

def test_table_issues_ids_and_replaces_a_reused_one() -> None:
    table = SubscriptionTable()
    everything = parse_filter(None, "w")
    s1 = table.add(b"A", None, everything, everything)
    s2 = table.add(b"A", None, everything, everything)
    assert (s1.sid, s2.sid) == ("s1", "s2")
    mine = table.add(b"A", "mine", parse_filter({"calls": ["c1"]}, "w"), everything)
    again = table.add(b"A", "mine", parse_filter({"calls": ["c2"]}, "w"), everything)
    assert mine.sid == again.sid == "mine" and len(table) == 3
    assert table.by_conn[b"A"]["mine"].include.calls == ("c2",)
    # issued ids skip ids the connection chose
    table.add(b"B", "s3", everything, everything)
    assert table.add(b"B", None, everything, everything).sid == "s4"


def test_table_caps_subscriptions_per_connection() -> None:
    table = SubscriptionTable()
    f = Filter()
    for i in range(limits.MAX_SUBSCRIPTIONS):
        table.add(b"A", f"x{i}", f, f)
    with pytest.raises(ProtoError) as info:
        table.add(b"A", None, f, f)
    assert info.value.code == "E_BAD_ARGS" and info.value.op == "events.subscribe"
    table.add(b"A", "x0", f, f)  # replacing one is fine
    table.add(b"B", None, f, f)  # the cap is per connection


def test_table_remove() -> None:
    table = SubscriptionTable()
    f = Filter()
    table.add(b"A", "one", f, f)
    table.add(b"A", "two", f, f)
    with pytest.raises(ProtoError) as info:
        table.remove(b"A", "three")
    assert (info.value.code, info.value.obj) == ("E_NOT_FOUND", "three")
    assert table.remove(b"A", "one") == 1
    assert table.remove(b"A", None) == 1
    assert table.remove(b"A", None) == 0
    assert table.by_conn == {}


def test_targets_skip_the_owner_and_send_one_copy() -> None:
    table = SubscriptionTable()
    table.add(b"A", None, parse_filter({"accounts": ["alice"]}, "w"), Filter())
    table.add(b"A", None, parse_filter({"events": ["call"]}, "w"), Filter())  # both match STATE
    table.add(b"B", None, parse_filter({"accounts": ["bob"]}, "w"), Filter())
    table.add(b"C", None, Filter(), parse_filter({"events": ["call.media_state"]}, "w"))
    assert table.targets(STATE) == [b"A", b"C"]
    assert table.targets(STATE, skip=b"A") == [b"C"]
    assert table.targets(MEDIA) == [b"A"]
    assert table.targets(INCOMING) == [b"B", b"C"]
    table.drop_conn(b"C")
    assert table.targets(INCOMING) == [b"B"]


# -- call details for snapshots --------------------------------------------------------------

def test_call_states_follow_events_and_forget_ended_calls() -> None:
    states = CallStates()
    assert states.view("c1") == {"role": "", "remote_uri": "", "call_id": "", "code": 0,
                                 "reason": "", "media": "NONE"}
    states.observe("call.state", "c1", {"state": "CALLING", "code": 0, "reason": "",
                                        "remote_uri": "sip:bob@h", "call_id": "x1", "role": "caller",
                                        "agent": "agent-1"})
    states.observe("call.state", "c1", {"state": "CONFIRMED", "code": 200, "reason": "OK",
                                        "remote_uri": "", "call_id": "", "role": "", "agent": "a"})
    states.observe("call.media_state", "c1", {"media": "ACTIVE", "dir": "sendrecv"})
    assert states.view("c1") == {"role": "caller", "remote_uri": "sip:bob@h", "call_id": "x1",
                                 "code": 200, "reason": "OK", "media": "ACTIVE"}
    states.observe("acc.incoming_call", "bob", {"call": "in1", "remote_uri": "<sip:a@h>",
                                                "call_id": "x1", "agent": "a", "local_uri": "b"})
    assert states.view("in1")["role"] == "callee"
    states.observe("call.media_state", "ghost", {"media": "ACTIVE"})  # no entry is made
    states.observe("call.state", "c1", {"state": "DISCONNECTED", "code": 200, "reason": "OK"})
    assert set(states.calls) == {"in1"}
    states.prune(live=["c7"])
    assert states.calls == {}


# -- snapshot size ---------------------------------------------------------------------------

def test_fit_snapshot_caps_items_and_bytes() -> None:
    accs = [{"acc": f"a{i}", "uri": "sip:a@h"} for i in range(50)]
    calls = [{"call": f"c{i}", "call_id": "x" * 1000} for i in range(50)]
    assert fit_snapshot(accs, calls) == (accs, calls, False)
    a, c, cut = fit_snapshot(accs, calls, max_items=10)
    assert (len(a), len(c), cut) == (10, 10, True)
    a, c, cut = fit_snapshot(accs, calls, max_bytes=20_000)
    assert cut and len(msgpack.packb([a, c])) <= 20_000 and a == accs[:len(a)] and c
    assert fit_snapshot([], [], max_bytes=1) == ([], [], False)


# -- CLI filter expressions ------------------------------------------------------------------

def test_parse_exprs() -> None:
    assert parse_exprs(["call.state", "acc=a1,a2", "call=c1", "run=L1", "kind=agent",
                        "ACC= a3 "]) == {
        "events": ["call.state", "agent"], "accounts": ["a1", "a2", "a3"], "calls": ["c1"],
        "runs": ["L1"]}
    assert parse_exprs([]) == {}
    for bad in ("acc=", "nope=1", "call=,"):
        with pytest.raises(ValueError):
            parse_exprs([bad])
