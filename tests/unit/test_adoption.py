"""coordinator.server.adoption and its helpers: a restarted coordinator re-adopts what agents hold.

Pure parts (parse, conflict, the load totals, the profile), then a real Coordinator on loopback
with a fake clock and fake agents (DEALER sockets that say hello with holdings)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import zmq

import proto
from agent.load import totals as loadtotals
from coordinator.client import Call, CallCallback
from coordinator.client.dispatch import HANDLERS
from coordinator.server.access import Access
from coordinator.server.adoption import MAX_HELD, Adoption, BadHoldings, conflict, parse
from coordinator.server.coordinator import Coordinator
from coordinator.server.load.plan import Profile, profile_from_public
from coordinator.server.objects import AccountRec, CallRec, ObjectTable
from coordinator.server.security import ServerKeys
from proto.hist import Histogram

OWNER = b"client/1234"


def account(gid: str = "a3", home: bool = True, owner: bytes = OWNER, **kw: Any) -> dict[str, Any]:
    return {"acc": gid, "uri": f"sip:{gid}@127.0.0.1", "owner": owner.hex(), "owner_key": "",
            "home": home, "everywhere": False, "auto_answer": 200,
            "settings": {"registrar": "sip:r", "username": "u", "password": "pw", "bogus": 1},
            "policy": {"transfer": "reject", "transfer_code": 603},
            "buddies": [{"buddy": "b4", "uri": "sip:x@y", "subscribe": True}], **kw}


def call(gid: str = "c7", acc: str = "a3", seq: int = 4, state: str = "CONFIRMED") -> dict[str, Any]:
    return {"call": gid, "acc": acc, "owner": OWNER.hex(), "owner_key": "", "seq": seq,
            "state": state, "code": 200, "reason": "OK", "remote_uri": "sip:b@h",
            "call_id": "xyz", "role": "caller"}


def holdings(**kw: Any) -> dict[str, Any]:
    return {"accounts": [account()], "calls": [call()],
            "media": [{"media": "n/tone-1.2", "owner": OWNER.hex()}], "ids": 9, **kw}


# -- pure ------------------------------------------------------------------------------------
def test_parse_keeps_what_a_coordinator_needs_and_drops_unknown_settings() -> None:
    h = parse(holdings())
    (a,) = h.accounts
    assert (a.gid, a.owner, a.home, a.auto_answer) == ("a3", OWNER, True, 200)
    assert a.sip == {"registrar": "sip:r", "username": "u", "password": "pw"}
    assert a.buddies == {"b4": {"uri": "sip:x@y", "subscribe": True}}
    (c,) = h.calls
    assert (c.gid, c.acc, c.seq, c.data["state"]) == ("c7", "a3", 4, "CONFIRMED")
    assert [m.gid for m in h.media] == ["n/tone-1.2"] and h.ids == 9 and h.loads == []


@pytest.mark.parametrize("bad", [
    "not a map", {"accounts": "x"}, {"accounts": [account(owner=b"")]},
    {"accounts": [dict(account(), owner="zz")]}, {"calls": [dict(call(), seq=-1)]},
    {"calls": [dict(call(), state=3)]}, {"media": [{"media": "m"}]},
])
def test_parse_refuses_malformed_holdings(bad: Any) -> None:
    with pytest.raises(BadHoldings):
        parse(bad)


def test_parse_refuses_a_load_part_without_a_profile() -> None:
    with pytest.raises(BadHoldings):
        parse({}, [{"run": "L1", "owner": OWNER.hex(), "elapsed": 1, "slots": 2,
                    "reports": 0, "profile": {}}])


def table(**calls: str) -> ObjectTable:
    t = ObjectTable()
    t.add_account(AccountRec("a3", OWNER, "sip:a3@127.0.0.1", 200, home="x"))
    for gid, agent in calls.items():
        t.add_call(CallRec(gid, OWNER, agent, "a3"))
    return t


def test_conflicts_first_report_wins() -> None:
    assert conflict(ObjectTable(), parse(holdings())) == ""
    # a replica of an account homed elsewhere, with new calls: adopted beside it
    assert conflict(table(), parse(holdings(accounts=[account(home=False)]))) == ""
    assert "home" in conflict(table(), parse(holdings()))
    assert "another owner" in conflict(table(), parse(holdings(
        accounts=[account(home=False, owner=b"other")])))
    assert "call c7" in conflict(table(c7="x"), parse(holdings(accounts=[])))
    assert "listed twice" in conflict(ObjectTable(), parse(holdings(
        accounts=[account(), account()])))
    everywhere = account(everywhere=True)
    assert conflict(table(), parse(holdings(accounts=[everywhere], calls=[]))) == ""


def test_load_totals_add_counters_tallies_and_histograms() -> None:
    h = Histogram()
    h.record(1000)
    one = {"started": 2, "answered": 1, "failed": {"486": 1}, "setup": h.to_wire(),
           "duration": h.to_wire(), "media": {"calls": 1, "rx": 10, "lost": 0}, "active": 1,
           "done": False}
    two = dict(one, started=3, failed={"486": 2, "503": 1}, active=0, done=True)
    total = loadtotals.merge(loadtotals.merge({}, one), two)
    assert (total["started"], total["answered"], total["active"], total["done"]) == (5, 2, 0, True)
    assert total["failed"] == {"486": 3, "503": 1} and total["media"]["rx"] == 20
    assert Histogram.from_wire(total["setup"]).total == 2


def test_a_profile_comes_back_from_its_public_form_without_credentials_or_data() -> None:
    p = Profile(rate=4, calls=40, targets=("sip:a@b",), self_answer=True,
                credentials=(("u", "pw", "d"),), data=({"ext": "201"},))
    assert (p.public()["credentials"], p.public()["data"]) == (1, 1)  # counts only
    back = profile_from_public(p.public())
    assert back == Profile(rate=4, calls=40, targets=("sip:a@b",), self_answer=True)
    assert back.data == () and back.public()["data"] == 0
    with pytest.raises(ValueError):
        profile_from_public({"calls": 3})


def test_ids_continue_past_what_was_adopted() -> None:
    t = ObjectTable()
    t.skip_ids(9)
    assert t.new_id("a", None) == "a10" and t.new_id("c", None) == "c11"
    t.skip_ids(3)
    assert t.new_id("a", None) == "a12"


def test_an_adopted_owner_is_its_key_under_curve() -> None:
    keys = ServerKeys.__new__(ServerKeys)
    access = Access(keys)
    access.claim(OWNER, "KEY1")
    access.users[OWNER] = "KEY2"  # another key reconnected under the same routing id
    assert access.owner_principal(OWNER) != access.principal(OWNER)
    access.users[OWNER] = "KEY1"
    assert access.owner_principal(OWNER) == access.principal(OWNER)
    assert access.owner_args(OWNER) == {"owner": OWNER.hex(), "owner_key": "KEY1"}
    assert Access(None).owner_args(OWNER) == {"owner": OWNER.hex()}


class Count(CallCallback):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def on_state(self) -> None:
        self.n += 1


class _Lib:
    session = SimpleNamespace(calls={})


def test_the_client_calls_no_callback_twice_for_an_adopted_state() -> None:
    c = Call(_Lib(), "c1", None, role="caller")  # type: ignore[arg-type]
    cb = Count()
    c.set_callback(cb)
    data = {"state": "CONFIRMED", "code": 200, "reason": "OK", "remote_uri": "", "call_id": "",
            "role": "caller", "agent": "x"}
    _, on_state = HANDLERS["call.state"]
    on_state(c, data)
    on_state(c, dict(data, adopted=True))
    assert cb.n == 1 and c.info().state == "CONFIRMED"
    # a state it missed while the coordinator was away is told
    on_state(c, dict(data, state="DISCONNECTED", adopted=True))
    assert cb.n == 2 and not c.is_valid()


def test_requests_held_beyond_the_bound_are_refused() -> None:
    a = Adoption(5.0, 0.0)
    assert a.open and a.left(1.0) == 4.0
    for i in range(MAX_HELD):
        assert a.hold(b"c", b"%d" % i)
    assert not a.hold(b"c", b"x")
    assert not Adoption(0.0, 0.0).open


# -- a coordinator with fake agents ------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[Coordinator]:
    c = Coordinator("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", clock=clock, adopt_window_s=5.0)
    yield c
    c.close()


def dealer(server: Coordinator, rid: bytes, which: str) -> zmq.Socket[bytes]:
    sock = server.sockets.ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.ROUTING_ID, rid)
    sock.connect(server.endpoints()[which])
    return sock


def exchange(server: Coordinator, sock: zmq.Socket[bytes], msg: proto.Message,
             kind: str = "rep") -> proto.Message | None:
    sock.send(proto.encode(msg))
    for _ in range(100):
        server.turn(10)
        while sock.poll(0):
            got = proto.decode(sock.recv())
            if got.kind == kind and got.id == msg.id:
                return got
    return None


def hello(name: str, h: dict[str, Any] | None, **extra: Any) -> proto.Message:
    args = {"name": name, "host": "h", "pid": 1, "sip": ["udp:127.0.0.1:5070"], "capacity": 4,
            "pjsip": "2.15.1", "calls": len((h or {}).get("calls", [])),
            "accounts": len((h or {}).get("accounts", [])), **extra}
    if h is not None:
        args["holdings"] = h
    return proto.req("agent.hello", args, "hello-1")


def test_a_coordinator_adopts_holds_requests_then_serves_them(
        server: Coordinator, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[proto.Message] = []
    server.registry.lost_after_s = 60.0  # the fake clock jumps; no heartbeat is sent here
    monkeypatch.setattr(server.events, "send_frame",
                        lambda client, frame: told.append(proto.decode(frame)) or "ok")
    one, two = dealer(server, b"one/1", "agents"), dealer(server, b"two/1", "agents")
    client = dealer(server, OWNER, "clients")
    try:
        rep = exchange(server, one, hello("one", holdings(), admitted_by="old"))
        assert rep is not None and rep.ok and rep.result["adopted"] and not rep.result["reset"]
        rec = server.registry.by_name["one"]
        assert (server.objects.calls_at(rec.name), server.objects.accounts_at(rec.name)) == (1, 1)
        acc = server.objects.accounts["a3"]
        assert (acc.owner, acc.home, acc.replicas, acc.sip["password"]) == \
            (OWNER, "one", {"one"}, "pw")
        assert server.objects.calls["c7"].last_seq == 4 and "n/tone-1.2" in server.objects.media
        # the same call reported by another agent: that agent is reset, the first report stays
        rep = exchange(server, two, hello("two", holdings(accounts=[])))
        assert rep is not None and rep.result["reset"] and not rep.result["adopted"]
        assert server.objects.calls["c7"].agent == "one"

        # during the window: lib.status is served, acc.create is held
        status = exchange(server, client, proto.req("lib.status", {}, "r1"))
        assert status is not None and status.result["adopting"] > 0
        assert exchange(server, client, proto.req("acc.create", {"uri": "sip:n@h"}, "r2")) is None
        assert told == []  # adopted states wait for the window's end too
        clock.t += 5.1
        created = exchange(server, client, proto.req("lib.agents", {}, "r3"))
        assert created is not None
        # the window closed: the owner got its call's state, then the held request ran
        assert [(m.op, m.obj, m.seq, m.data["adopted"]) for m in told] == \
            [("call.state", "c7", 4, True)]
        new = [p for p in server.pipeline.pending.values() if p.request.op == "acc.create"]
        assert [p.request.id for p in new] == ["r2"]
        assert set(server.objects.accounts) == {"a3", "a10"}  # past the ids the agent saw (9)
    finally:
        for s in (one, two, client):
            s.close(0)


def test_an_agent_this_coordinator_admitted_before_is_reset(server: Coordinator) -> None:
    sock = dealer(server, b"one/1", "agents")
    try:
        rep = exchange(server, sock, hello("one", holdings(), admitted_by=server.cid))
        assert rep is not None and rep.result["reset"] and "c7" not in server.objects.calls
    finally:
        sock.close(0)
