"""coordinator.server.registry: admitting agents, names, heartbeats and expiry on an injected clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.client.pages import every_agent
from coordinator.server.objects import ObjectTable
from coordinator.server.registry import AgentRecord, Registry
from proto import ProtoError, limits


@dataclass
class Counts:
    """The calls and accounts every agent holds, as the object table would tell them."""

    calls: int = 0
    accounts: int = 0

    def calls_at(self, agent: str) -> int:
        return self.calls

    def accounts_at(self, agent: str) -> int:
        return self.accounts


#: an object table of nothing
NONE = ObjectTable()


def hello(name: str = "agent-1", **extra: Any) -> dict[str, Any]:
    return {"name": name, "host": "host-1", "pid": 100, "sip": ["udp:127.0.0.1:5060"],
            "capacity": 16, "pjsip": "2.15.1", **extra}


def test_admit_records_the_hello() -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(max_accounts=4), now=10.0)
    assert (rec.name, rec.rid, rec.host, rec.pid, rec.sip, rec.capacity, rec.pjsip) == (
        "agent-1", b"r1", "host-1", 100, ["udp:127.0.0.1:5060"], 16, "2.15.1")
    assert (rec.last_seen, rec.alive, rec.max_accounts) == (10.0, True, 4)
    assert (rec.load(NONE).calls, rec.load(NONE).accounts) == (0, 0)
    assert reg.by_name == {"agent-1": rec}
    assert reg.by_rid == {b"r1": rec}
    assert reg.live() == [rec]


def test_max_accounts_defaults_to_8() -> None:
    reg = Registry()
    assert reg.admit(b"r1", hello(), 0.0).max_accounts == 8
    assert reg.admit(b"r2", hello("b", max_accounts=None), 0.0).max_accounts == 8


def test_max_accounts_of_zero_is_honoured() -> None:
    rec = Registry().admit(b"r1", hello(max_accounts=0), 0.0)
    assert rec.max_accounts == 0
    assert rec.load(NONE).account_room is False


def test_sip_addresses_are_kept_as_strings() -> None:
    rec = Registry().admit(b"r1", hello(sip=["udp:127.0.0.1:5060", 5]), 0.0)
    assert rec.sip == ["udp:127.0.0.1:5060", "5"]


def test_duplicate_live_name_is_refused() -> None:
    reg = Registry()
    first = reg.admit(b"r1", hello(), 0.0)
    with pytest.raises(ProtoError) as info:
        reg.admit(b"r2", hello(host="elsewhere"), 1.0)
    exc = info.value
    assert (exc.code, exc.obj, exc.op) == ("E_DUPLICATE", "agent-1", "agent.hello")
    # the first agent is untouched and the newcomer is not known
    assert reg.by_name["agent-1"] is first
    assert set(reg.by_rid) == {b"r1"}
    assert first.host == "host-1"


def test_the_same_connection_may_say_hello_again() -> None:
    reg = Registry()
    reg.admit(b"r1", hello(), 0.0)
    again = reg.admit(b"r1", hello(pid=200), 5.0)
    assert reg.by_name == {"agent-1": again}
    assert reg.by_rid == {b"r1": again}
    assert (again.pid, again.last_seen) == (200, 5.0)


def test_name_is_free_again_once_its_agent_is_lost() -> None:
    reg = Registry(lost_after_s=3.0)
    old = reg.admit(b"r1", hello(), 0.0)
    assert reg.expire(3.5) == [old]
    new = reg.admit(b"r2", hello(pid=101), 4.0)
    assert new is not old and new.alive
    assert reg.by_name == {"agent-1": new}
    assert reg.by_rid == {b"r2": new}
    assert old.alive is False


def test_readmission_drops_the_old_connection_id() -> None:
    reg = Registry()
    old = reg.admit(b"r1", hello(), 0.0)
    old.alive = False  # lost without expire() having cleaned by_rid, e.g. marked by a handler
    reg.admit(b"r2", hello(), 1.0)
    assert set(reg.by_rid) == {b"r2"}
    assert reg.heartbeat(b"r1", {}, 2.0) is None


def test_several_agents() -> None:
    reg = Registry()
    a = reg.admit(b"ra", hello("a"), 0.0)
    b = reg.admit(b"rb", hello("b"), 0.0)
    assert reg.live() == [a, b]
    assert [load.name for load in reg.loads(NONE)] == ["a", "b"]


def test_heartbeat_refreshes_liveness_and_socket_budget() -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(), 0.0)
    assert reg.heartbeat(b"r1", {"sockets_free": 30, "calls": 5}, 2.0) is rec
    assert (rec.last_seen, rec.sockets_free) == (2.0, 30)
    assert rec.load(NONE).calls == 0  # the coordinator counts calls itself


@pytest.mark.parametrize("bad", [True, False, "30", 30.0, None, [30]])
def test_heartbeat_ignores_an_ill_typed_socket_count(bad: Any) -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(), 0.0)
    reg.heartbeat(b"r1", {"sockets_free": 30}, 1.0)
    assert reg.heartbeat(b"r1", {"sockets_free": bad}, 2.0) is rec
    assert (rec.sockets_free, rec.last_seen) == (30, 2.0)


def test_heartbeat_from_unknown_or_lost_agent_is_ignored() -> None:
    reg = Registry(lost_after_s=3.0)
    assert reg.heartbeat(b"nobody", {"sockets_free": 1}, 0.0) is None
    rec = reg.admit(b"r1", hello(), 0.0)
    reg.expire(10.0)
    assert reg.heartbeat(b"r1", {"sockets_free": 1}, 11.0) is None
    assert (rec.alive, rec.last_seen, rec.sockets_free) == (False, 0.0, 48)


def test_seen_refreshes_liveness() -> None:
    reg = Registry(lost_after_s=3.0)
    rec = reg.admit(b"r1", hello(), 0.0)
    assert reg.seen(b"r1", 2.5) is rec
    assert rec.last_seen == 2.5
    assert reg.expire(5.0) == []
    assert reg.seen(b"nobody", 5.0) is None


def test_seen_does_not_revive_a_lost_agent() -> None:
    reg = Registry(lost_after_s=3.0)
    rec = reg.admit(b"r1", hello(), 0.0)
    reg.expire(4.0)
    assert reg.seen(b"r1", 4.5) is None
    assert rec.alive is False


def test_default_loss_delay_is_three_missed_heartbeats() -> None:
    assert Registry().lost_after_s == limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES == 3.0


def test_expire_only_after_the_loss_delay() -> None:
    reg = Registry(lost_after_s=3.0)
    rec = reg.admit(b"r1", hello(), 100.0)
    assert reg.expire(102.0) == []
    assert reg.expire(103.0) == []  # exactly the delay: not yet
    assert rec.alive
    assert reg.expire(103.25) == [rec]
    assert rec.alive is False
    assert reg.live() == [] and reg.loads(NONE) == []
    assert reg.by_rid == {}
    assert reg.by_name == {"agent-1": rec}  # remembered, so its objects can be failed over


def test_expire_reports_each_loss_once() -> None:
    reg = Registry(lost_after_s=1.0)
    rec = reg.admit(b"r1", hello(), 0.0)
    assert reg.expire(5.0) == [rec]
    assert reg.expire(6.0) == []


def test_expire_picks_only_the_silent_agents() -> None:
    reg = Registry(lost_after_s=3.0)
    quiet = reg.admit(b"ra", hello("a"), 0.0)
    chatty = reg.admit(b"rb", hello("b"), 0.0)
    for t in (1.0, 2.0, 3.0, 4.0):
        reg.heartbeat(b"rb", {}, t)
    assert reg.expire(4.0) == [quiet]
    assert reg.live() == [chatty]
    assert reg.expire(7.0) == []
    assert reg.expire(7.5) == [chatty]


# -- AgentRecord -----------------------------------------------------------------------------

def record(**kw: Any) -> AgentRecord:
    base: dict[str, Any] = dict(name="a", rid=b"r", host="h", pid=1, sip=["udp:10.0.0.1:5070"],
                                capacity=16, pjsip="2.15.1", last_seen=0.0)
    return AgentRecord(**{**base, **kw})


def test_record_load() -> None:
    rec = record(sockets_free=10, max_accounts=4)
    load = rec.load(Counts(calls=3, accounts=2))
    assert (load.name, load.capacity, load.calls, load.sockets_free, load.accounts, load.alive,
            load.max_accounts) == ("a", 16, 3, 10, 2, True, 4)
    assert load.free_slots == 5
    rec.alive = False
    assert rec.load(NONE).free_slots == 0


@pytest.mark.parametrize(("sip", "hostport"), [
    (["udp:10.0.0.1:5070"], "10.0.0.1:5070"),
    (["tcp:[::1]:5060", "udp:10.0.0.1:5070"], "[::1]:5060"),
    ([], "127.0.0.1:5060"),
])
def test_sip_hostport(sip: list[str], hostport: str) -> None:
    assert record(sip=sip).sip_hostport() == hostport


def test_public_view() -> None:
    view = record(sockets_free=10).public(Counts(calls=3, accounts=2))
    assert view["name"] == "a" and view["free"] == 5 and view["alive"] is True
    assert {"host", "pid", "sip", "capacity", "calls", "sockets_free", "accounts",
            "pjsip"} <= set(view)


def test_resetting_and_leaving_agents_take_nothing_new() -> None:
    reg = Registry(lost_after_s=3.0)
    rec = reg.admit(b"r1", hello(), 0.0)
    assert rec.ready and rec.state == "ready" and rec.load(NONE).free_slots > 0
    rec.resetting = True
    assert not rec.ready and rec.state == "resetting" and rec.load(NONE).free_slots == 0
    assert not rec.load(NONE).account_room and rec.public(NONE)["state"] == "resetting"
    rec.resetting, rec.leaving = False, True
    assert rec.state == "leaving" and rec.load(NONE).free_slots == 0


def test_a_leaving_agent_gets_time_to_hang_up_before_it_is_lost() -> None:
    from coordinator.server.registry import LEAVING_GRACE_S

    reg = Registry(lost_after_s=3.0)
    quiet = reg.admit(b"r1", hello(), 0.0)
    leaving = reg.admit(b"r2", hello("agent-2"), 0.0)
    leaving.leaving = True
    assert reg.expire(3.5) == [quiet]
    assert reg.expire(3.0 + LEAVING_GRACE_S - 0.1) == []
    assert reg.expire(3.1 + LEAVING_GRACE_S) == [leaving] and leaving.state == "lost"


def test_heartbeat_health_figures_are_kept_and_listed() -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(), 0.0)
    reg.heartbeat(b"r1", {"sockets_free": 40, "bridge_used": 3, "bridge_max": 128,
                          "bridge_leaked": 0, "sockets": 4, "sockets_leaked": 0, "fds": 14,
                          "rss_kb": 40000, "junk": 1}, 1.0)
    shown = rec.public(NONE)
    assert {k: shown[k] for k in ("bridge_used", "bridge_max", "sockets", "fds", "rss_kb")} == {
        "bridge_used": 3, "bridge_max": 128, "sockets": 4, "fds": 14, "rss_kb": 40000}
    assert "junk" not in shown
    # wrong types never reach the listing
    reg.heartbeat(b"r1", {"bridge_used": "3", "fds": True, "sockets": -1}, 2.0)
    assert not {"bridge_used", "fds", "sockets"} & set(rec.public(NONE))


def test_a_draining_agent_takes_nothing_new_and_says_so() -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(), 0.0)
    rec.draining = "40 of 128 conference bridge ports leaked"
    assert rec.state == "draining" and not rec.ready
    assert rec.load(NONE).free_slots == 0 and not rec.load(NONE).account_room


def test_a_recycling_agent_is_listed_until_it_is_back_or_too_long() -> None:
    reg = Registry()
    rec = reg.admit(b"r1", hello(), 0.0)
    rec.alive = False
    reg.by_rid.pop(b"r1")
    reg.recycled(rec, 10.0)
    assert [r.state for r in reg.listed(11.0)] == ["recycling"]
    assert reg.live() == [] and reg.listed(10.0 + 31) == []
    back = reg.admit(b"r2", hello(), 12.0)  # its new process says hello under the same name
    assert [r.state for r in reg.listed(12.0)] == ["ready"] and reg.listed(12.0) == [back]


@given(st.lists(st.tuples(st.text("abcxyz-0123456789", min_size=1, max_size=6),
                          st.sampled_from(["live", "lost", "recycling", "recycled long ago"])),
                max_size=40, unique_by=lambda agent: agent[0]),
       st.integers(1, 7))
def test_pages_list_the_fleet_once_in_name_order(fleet: list[tuple[str, str]], limit: int) -> None:
    """lib.agents' pages, followed from the first by each page's last name, give exactly what
    listed() gives (live and recently recycling agents, in name order), each at most ``limit``
    long, with ``more`` true on every page but the last; count_listed agrees."""
    reg = Registry()
    for i, (name, fate) in enumerate(fleet):
        rec = reg.admit(f"r{i}".encode(), hello(name), now=100.0)
        if fate != "live":
            rec.alive = False
            reg.by_rid.pop(rec.rid, None)
            rec.recycling = fate.startswith("recycl")
            rec.last_seen = 100.0 if fate == "recycling" else 0.0
    wanted = sorted(name for name, rec in reg.by_name.items()
                    if rec.alive or (rec.recycling and rec.last_seen == 100.0))
    assert [r.name for r in reg.listed(100.0)] == wanted
    assert reg.count_listed(100.0) == len(wanted)
    seen: list[str] = []
    after, more = "", True
    while more:
        page, more = reg.page(100.0, after, limit)
        assert len(page) <= limit and (page or not more)
        assert not more or len(page) == limit
        seen += [r.name for r in page]
        after = page[-1].name if page else after
    assert seen == wanted


@given(st.integers(0, 25), st.integers(1, 6))
def test_the_clients_follow_every_page_from_lib_agents_or_lib_status(n: int, limit: int) -> None:
    """coordinator.client.pages.every_agent, served pages of ``limit`` the registry's way, gets
    every agent once in name order, starting from nothing (lib.agents) or from lib.status's
    first page (agents_total instead of next)."""
    reg = Registry()
    for i in range(n):
        reg.admit(f"r{i}".encode(), hello(f"a-{(i * 7) % 25:02d}-{i}"), now=1.0)
    asked: list[dict[str, Any]] = []

    def request(op: str, args: dict[str, Any]) -> dict[str, Any]:
        assert op == "lib.agents"
        asked.append(args)
        recs, more = reg.page(1.0, args.get("after", ""), limit)
        return {"agents": [{"name": r.name} for r in recs], "total": n,
                **({"next": recs[-1].name} if more else {})}

    wanted = sorted(reg.by_name)
    assert [a["name"] for a in every_agent(request)] == wanted
    first = request("lib.agents", {})
    status = {"agents": first["agents"], "agents_total": n}
    assert [a["name"] for a in every_agent(request, status)] == wanted
    assert len(asked) <= 2 * (n // limit + 2)
