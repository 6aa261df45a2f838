"""coordinator.server.objects: id issuance, pre-chosen ids, lookups."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.server.objects import AccountRec, CallRec, ObjectTable
from proto import ProtoError


def account(gid: str, home: str = "agent-1", replicas: set[str] | None = None) -> AccountRec:
    return AccountRec(gid, b"client", "sip:alice@127.0.0.1", None, home,
                      frozenset(replicas or {home}))


def call(gid: str, agent: str = "agent-1", acc: str = "a1") -> CallRec:
    return CallRec(gid, b"client", agent, acc)


def test_issued_ids_are_fresh_and_prefixed() -> None:
    table = ObjectTable()
    ids = [table.new_id("a", None) for _ in range(3)] + [table.new_id("c", None)]
    assert ids == ["a1", "a2", "a3", "c4"]


def test_issued_ids_skip_ids_in_use() -> None:
    table = ObjectTable()
    table.add_account(account("a1"))
    table.add_account(account("a3"))
    table.add_call(call("c4"))
    assert table.new_id("a", None) == "a2"  # a1 taken
    assert table.new_id("a", None) == "a4"  # a3 taken
    assert table.new_id("c", None) == "c5"  # one counter for both prefixes
    table.add_call(call("c6"))
    assert table.new_id("c", None) == "c7"  # c6 taken


def test_issued_ids_never_repeat() -> None:
    table = ObjectTable()
    seen = set()
    for i in range(1000):
        gid = table.new_id("c", None)
        assert gid not in seen
        seen.add(gid)
        if i % 3 == 0:
            table.add_call(call(gid))


@pytest.mark.parametrize("chosen", [None, ""])
def test_no_chosen_id_means_an_issued_one(chosen: str | None) -> None:
    assert ObjectTable().new_id("a", chosen) == "a1"


def test_pre_chosen_id_is_used_when_free() -> None:
    table = ObjectTable()
    assert table.new_id("a", "my-account") == "my-account"
    assert table.new_id("a", None) == "a1"  # choosing does not consume the counter


@pytest.mark.parametrize("where", ["accounts", "calls"])
def test_pre_chosen_id_in_use_is_a_duplicate(where: str) -> None:
    table = ObjectTable()
    if where == "accounts":
        table.add_account(account("x"))
    else:
        table.add_call(call("x"))
    for prefix in ("a", "c"):
        with pytest.raises(ProtoError) as info:
            table.new_id(prefix, "x")
        assert (info.value.code, info.value.obj) == ("E_DUPLICATE", "x")


def test_issued_ids_do_not_collide_with_pre_chosen_ones() -> None:
    table = ObjectTable()
    table.add_call(call("c1"))
    assert table.new_id("c", None) == "c2"


def test_account_lookup() -> None:
    table = ObjectTable()
    rec = account("a1")
    table.add_account(rec)
    assert table.account("a1", "acc.delete") is rec
    with pytest.raises(ProtoError) as info:
        table.account("a2", "acc.delete")
    assert (info.value.code, info.value.obj, info.value.op) == ("E_NOT_FOUND", "a2", "acc.delete")


def test_call_lookup() -> None:
    table = ObjectTable()
    rec = call("c1")
    table.add_call(rec)
    assert table.call("c1", "call.info") is rec
    with pytest.raises(ProtoError) as info:
        table.call("c9", "call.hangup")
    assert (info.value.code, info.value.obj, info.value.op) == ("E_NOT_FOUND", "c9", "call.hangup")


def test_lookups_do_not_cross_kinds() -> None:
    table = ObjectTable()
    table.add_account(account("x"))
    with pytest.raises(ProtoError):
        table.call("x", "call.info")
    table.add_call(call("y"))
    with pytest.raises(ProtoError):
        table.account("y", "acc.delete")


def test_objects_on_an_agent() -> None:
    table = ObjectTable()
    table.add_account(account("a1", home="n1", replicas={"n1", "n2"}))
    table.add_account(account("a2", home="n2", replicas={"n2"}))
    table.add_account(account("a3", home="n3", replicas=set()))
    table.add_call(call("c1", agent="n1"))
    table.add_call(call("c2", agent="n2"))
    table.add_call(call("c3", agent="n1"))
    assert [c.gid for c in table.calls_on("n1")] == ["c1", "c3"]
    assert [a.gid for a in table.accounts_on("n2")] == ["a1", "a2"]
    assert [a.gid for a in table.accounts_on("n3")] == ["a3"]  # home counts without a replica
    assert table.calls_on("n9") == [] and table.accounts_on("n9") == []


def test_account_cfg() -> None:
    assert account("a1").cfg() == {"uri": "sip:alice@127.0.0.1"}
    rec = AccountRec("a1", b"c", "sip:bob@h", 200, "n1")
    assert rec.cfg() == {"uri": "sip:bob@h", "auto_answer": 200}
    assert rec.replicas == set()


def test_call_record_defaults() -> None:
    rec = call("c1")
    assert (rec.state, rec.last_seq) == ("NULL", 0)


@given(st.lists(st.tuples(st.sampled_from(["call", "end", "acc", "drop", "hold"]),
                          st.integers(0, 5), st.sampled_from(["n1", "n2", "n3", ""]),
                          st.sampled_from(["n1", "n2", "n3"])), max_size=60))
def test_the_per_agent_counts_always_match_the_objects(steps: list[tuple[str, int, str,
                                                                        str]]) -> None:
    """Whatever happens, what the indexes say each agent holds is what counting the objects
    afresh says (no count is kept by hand anywhere)."""
    table = ObjectTable()
    for kind, n, a, b in steps:
        gid = f"x{n}"
        if kind == "call":
            table.add_call(call(gid, agent=b))
        elif kind == "end":
            table.drop_call(gid)
        elif kind == "acc":
            table.add_account(account(gid, home=a, replicas={b}))
        elif kind == "drop":
            table.drop_account(gid)
        elif gid in table.accounts:
            table.hold(table.accounts[gid], home=a, add={b}, drop={a}, reserve={a},
                       release={b})
    shapes = table.shapes()
    for name in ("n1", "n2", "n3"):
        assert (table.calls_at(name), table.accounts_at(name)) == shapes.get(name, (0, 0))
