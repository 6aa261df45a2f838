"""The load-run planner (pure): shares of rate, calls and slots, calling identities, registrar
identities from credentials, and the errors of profiles it cannot serve."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coordinator.cli.credentials import parse_credentials
from coordinator.server.load.plan import Seat, parse_profile, plan, registrar_domain
from proto import ProtoError


def _seats(n: int, capacity: int = 4, free_accounts: int = 8) -> list[Seat]:
    return [Seat(f"a{i}", capacity, f"127.0.0.1:{5060 + i}", free_accounts) for i in range(n)]


def _plan(args: dict[str, Any], seats: list[Seat]) -> dict[str, dict[str, Any]]:
    return plan(parse_profile(args), seats, "L1")


def test_self_run_rings_each_agent_to_the_next_answerer() -> None:
    shares = _plan({"rate": 6, "calls": 10, "self": True}, _seats(3))
    assert [s["caller"]["targets"] for s in shares.values()] == [
        ["sip:L1-ans@127.0.0.1:5061"], ["sip:L1-ans@127.0.0.1:5062"],
        ["sip:L1-ans@127.0.0.1:5060"]]
    assert sum(s["caller"]["calls"] for s in shares.values()) == 10
    assert sum(s["caller"]["rate"] for s in shares.values()) == pytest.approx(6)
    assert all(s["caller"]["slots"] == 2 for s in shares.values())
    assert all(len(s["caller"]["ids"]) == 1 for s in shares.values())
    assert shares["a0"]["answer"]["ids"] == [{"uri": "sip:L1-ans@127.0.0.1:5060"}]


def test_self_run_callers_wait_for_go_and_target_runs_do_not() -> None:
    # an INVITE to an agent that has not made its answering account yet would get 480
    shares = _plan({"rate": 6, "calls": 10, "self": True}, _seats(3))
    assert all(s["caller"]["wait_go"] is True for s in shares.values())
    shares = _plan({"rate": 6, "calls": 10, "targets": ["sip:uas@127.0.0.1:5099"]}, _seats(3))
    assert all(s["caller"]["wait_go"] is False for s in shares.values())


def test_callers_are_spread_and_agents_without_one_place_no_calls() -> None:
    shares = _plan({"rate": 4, "calls": 8, "self": True, "callers": 2}, _seats(4))
    callers = {n: s["caller"] for n, s in shares.items() if "caller" in s}
    assert len(callers) == 2 and all(len(c["ids"]) == 1 for c in callers.values())
    assert sum(c["calls"] for c in callers.values()) == 8
    assert sum(c["rate"] for c in callers.values()) == pytest.approx(4)
    assert all("answer" in s for s in shares.values())  # every agent still answers

    shares = _plan({"rate": 4, "calls": 8, "targets": ["sip:x@h"], "callers": 7}, _seats(2))
    ids = [c["uri"] for s in shares.values() for c in s["caller"]["ids"]]
    assert len(ids) == 7 and len(set(ids)) == 7


def test_more_callers_than_accounts_is_no_capacity() -> None:
    with pytest.raises(ProtoError) as err:
        _plan({"rate": 1, "calls": 1, "self": True, "callers": 15}, _seats(2))
    assert err.value.code == "E_NO_CAPACITY" and "callers" in err.value.msg
    # 7 callers + 1 answerer fill an agent's 8 accounts exactly
    assert _plan({"rate": 1, "calls": 2, "self": True, "callers": 14}, _seats(2))


def test_registrar_identities_come_from_the_credentials_in_order() -> None:
    creds = [{"user": f"u{i}", "password": f"p{i}"} for i in range(1, 6)]
    creds[4]["domain"] = "example.org"
    shares = _plan({"rate": 2, "calls": 4, "self": True, "callers": 3,
                    "registrar": "sip:10.0.0.1:5070", "credentials": creds}, _seats(2))
    calling = [i for s in shares.values() for i in s["caller"]["ids"]]
    assert [i["username"] for i in calling] == ["u1", "u2", "u3"]
    assert calling[0] == {"uri": "sip:u1@10.0.0.1", "username": "u1", "password": "p1"}
    answering = [s["answer"]["ids"][0]["uri"] for s in shares.values()]
    assert answering == ["sip:u4@10.0.0.1", "sip:u5@example.org"]
    # the ring calls the next agent's answering identity by its address of record
    assert shares["a0"]["caller"]["targets"] == ["sip:u5@example.org"]
    assert all(s["caller"]["registrar"] == "sip:10.0.0.1:5070" for s in shares.values())


def test_registrar_profiles_that_cannot_work_are_refused() -> None:
    creds = [{"user": "u1", "password": "p"}]
    with pytest.raises(ProtoError, match="needs 4 identities"):
        _plan({"rate": 1, "calls": 1, "self": True, "registrar": "sip:r", "credentials": creds},
              _seats(2))
    for bad in ([], None, "u1:p", [{"user": "u1"}], [{"user": "", "password": "p"}],
                [{"user": "a b", "password": "p"}], [{"user": "u", "password": 5}]):
        with pytest.raises(ProtoError) as err:
            parse_profile({"rate": 1, "calls": 1, "self": True, "registrar": "sip:r",
                           "credentials": bad})
        assert err.value.code == "E_BAD_ARGS"
    with pytest.raises(ProtoError, match="need a registrar"):
        parse_profile({"rate": 1, "calls": 1, "self": True, "credentials": creds})


def test_credentials_never_show_in_the_public_profile() -> None:
    p = parse_profile({"rate": 1, "calls": 1, "self": True, "registrar": "sip:r",
                       "credentials": [{"user": "u1", "password": "s3cret"}]})
    assert p.public()["credentials"] == 1 and "s3cret" not in repr(p.public())
    assert "s3cret" not in repr(p)


def test_media_values() -> None:
    for ok in ("silence", "tone", "wav:/tmp/a.wav"):
        assert parse_profile({"rate": 1, "calls": 1, "self": True, "media": ok}).media == ok
    for bad in ("loud", "wav:", "tone "):
        with pytest.raises(ProtoError, match="media"):
            parse_profile({"rate": 1, "calls": 1, "self": True, "media": bad})


def test_registrar_domain() -> None:
    assert registrar_domain("sip:10.0.0.1:5070") == "10.0.0.1"
    assert registrar_domain("sip:reg.example.org;transport=udp") == "reg.example.org"
    assert registrar_domain("sips:[::1]:5061") == "[::1]"


def test_credentials_files() -> None:
    assert parse_credentials("user,password\nu1,p1\n\n# note\nu2,p2,example.org\n") == [
        {"user": "u1", "password": "p1"},
        {"user": "u2", "password": "p2", "domain": "example.org"}]
    # a SIPp injection file
    assert parse_credentials("SEQUENTIAL\nu1;p1\nu2;p2\n") == [
        {"user": "u1", "password": "p1"}, {"user": "u2", "password": "p2"}]
    assert parse_credentials('u1,"p,1"\n') == [{"user": "u1", "password": "p,1"}]
    for bad in ("", "# only a comment\n", "u1\n", "u1,p,d,extra\n", ",p\n"):
        with pytest.raises(ValueError):
            parse_credentials(bad)


@given(st.integers(1, 60), st.integers(1, 9), st.sampled_from([0.5, 1, 3, 10]))
def test_a_runs_calls_start_one_interval_apart_whatever_their_split(calls: int, agents: int,
                                                                    rate: float) -> None:
    """Each calling agent's calls (its phase, then one per 1/its rate) interleave: the run's
    calls start k/rate after the first, for k = 0 .. calls - 1, and the rates add up to the
    run's (6 calls on 4 agents: 0, 1, 2, 3, 4, 5 s at 1/s, not 0, 1, 2, 3, 3, 4)."""
    shares = _plan({"rate": rate, "calls": calls, "self": True}, _seats(agents))
    parts = [s["caller"] for s in shares.values() if "caller" in s]
    assert sum(p["calls"] for p in parts) == calls
    assert sum(p["rate"] for p in parts) == pytest.approx(rate)
    starts = sorted(p["phase"] + k / p["rate"] for p in parts for k in range(p["calls"]))
    assert starts == pytest.approx([k / rate for k in range(calls)], abs=1e-5)


def test_the_agents_first_calls_are_spread_over_the_first_interval_of_the_fleet() -> None:
    """Agent k's first call is k/rate after the first agent's: with equal shares the fleet's
    calls come one every 1/rate seconds from the start."""
    shares = _plan({"rate": 8, "duration": 10, "self": True}, _seats(4))
    parts = [s["caller"] for s in shares.values()]
    assert [p["phase"] for p in parts] == [0.0, 0.125, 0.25, 0.375]
    starts = sorted(p["phase"] + k / p["rate"] for p in parts for k in range(4))
    assert [round(b - a, 9) for a, b in zip(starts, starts[1:], strict=False)] == [0.125] * 15


def test_every_share_carries_its_legs_steps_builtin_or_given() -> None:
    shares = _plan({"rate": 2, "calls": 4, "self": True, "hold": "3", "dtmf": "1#",
                    "answer_delay": 0.5}, _seats(2))
    caller, callee = shares["a0"]["caller"]["steps"], shares["a0"]["answer"]["steps"]
    assert [s["op"] for s in caller] == ["call", "wait", "dtmf", "pause", "hangup"]
    assert caller[3]["s"] == "3" and callee[0] == {"op": "answer", "codes": "200", "ring": 0.5}
    assert callee[1] == {"op": "expect_dtmf", "digits": "1#"}
    assert "hold" not in shares["a0"]["caller"]  # the steps say it: one path in the agent
    flow = {"name": "x", "caller": [{"op": "call"}, {"op": "hangup"}],
            "callee": [{"op": "answer", "codes": "486"}]}
    profile = parse_profile({"rate": 2, "calls": 4, "self": True, "scenario": flow})
    assert profile.scenario == "x" and profile.public()["scenario"] == "x"
    assert "flow" not in profile.public()
    shares = plan(profile, _seats(2), "L1")
    assert shares["a1"]["answer"]["steps"] == flow["callee"]
    assert shares["a1"]["caller"]["steps"] == flow["caller"]


@pytest.mark.parametrize(("args", "message"), [
    ({"scenario": {"caller": [{"op": "call"}]}, "hold": "2"}, "a scenario replaces hold"),
    ({"scenario": {"caller": [{"op": "call"}, {"op": "pause"}]}},
     "caller step 2 (pause): missing argument 's'"),
    ({"scenario": {"caller": [{"op": "call"}]}, "self": True},
     "a self run needs the callee's steps"),
    # the call step's own target is the first thing wrong with a self run, callee or not
    ({"scenario": {"caller": [{"op": "call", "to": "sip:x@127.0.0.1"}]}, "self": True},
     "a self run calls its own agents: no 'to' on the call step"),
    ({"scenario": {"caller": [{"op": "call", "to": "sip:x@127.0.0.1"}],
                   "callee": [{"op": "answer"}]}, "self": True},
     "a self run calls its own agents: no 'to' on the call step"),
])
def test_a_bad_scenario_is_refused_with_its_step(args: dict[str, Any], message: str) -> None:
    base = {"rate": 1, "calls": 1, "targets": ["sip:x@127.0.0.1:5099"]}
    if args.get("self"):
        base.pop("targets")
    with pytest.raises(ProtoError) as err:
        parse_profile({**base, **args})
    assert err.value.code == "E_BAD_ARGS" and message in err.value.msg


def test_a_scenario_runs_profile_shows_no_builtin_flow_options() -> None:
    flow = {"name": "x", "caller": [{"op": "call"}], "callee": [{"op": "answer"}]}
    public = parse_profile({"rate": 1, "calls": 1, "self": True, "scenario": flow}).public()
    assert public["scenario"] == "x"
    assert not {"hold", "hangup", "dtmf", "answer_codes", "answer_delay"} & set(public)
    builtin = parse_profile({"rate": 1, "calls": 1, "self": True, "hold": "2"}).public()
    assert builtin["scenario"] == "built-in" and builtin["hold"] == "2"


def test_a_scenario_with_transfers_keeps_a_slot_per_call_for_the_transferred_call() -> None:
    flow = {"caller": [{"op": "call"}],
            "callee": [{"op": "answer"}, {"op": "transfer", "to": "sip:o@127.0.0.1:5070"}],
            "transferee": [{"op": "hangup"}]}
    shares = plan(parse_profile({"rate": 2, "calls": 4, "self": True, "scenario": flow}),
                  _seats(2, capacity=6), "L1")
    assert [s["caller"]["slots"] for s in shares.values()] == [2, 2]  # 6 slots / 3 legs
    assert shares["a0"]["caller"]["transferee"] == shares["a0"]["answer"]["transferee"] == [
        {"op": "hangup"}]
    plain = plan(parse_profile({"rate": 2, "calls": 4, "self": True}), _seats(2, 6), "L1")
    assert [s["caller"]["slots"] for s in plain.values()] == [3, 3]
    assert "transferee" not in plain["a0"]["caller"]
    # an attended transfer: the consultation call at the transferring end takes one more
    flow["callee"] = [{"op": "answer"}, {"op": "consult", "to": "sip:s@127.0.0.1:5090"},
                      {"op": "attended_transfer"}]
    attended = plan(parse_profile({"rate": 2, "calls": 4, "self": True, "scenario": flow}),
                    _seats(2, capacity=8), "L1")
    assert [s["caller"]["slots"] for s in attended.values()] == [2, 2]  # 8 slots / 4 legs


def test_per_call_data_is_dealt_over_the_calling_agents_and_reported_as_a_count() -> None:
    rows = [{"ext": str(200 + i)} for i in range(5)]
    flow = {"caller": [{"op": "call", "to": "sip:${ext}@127.0.0.1:5070"}]}
    profile = parse_profile({"rate": 2, "calls": 6, "scenario": flow, "data": rows})
    assert profile.public()["data"] == 5 and not profile.targets
    shares = plan(profile, _seats(2, capacity=4), "L1")
    dealt = [s["caller"]["data"] for s in shares.values()]
    assert dealt == [rows[0::2], rows[1::2]]  # every row once, none twice
    few = plan(parse_profile({"rate": 2, "calls": 6, "scenario": flow, "data": rows[:1]}),
               _seats(2, capacity=4), "L1")
    assert [s["caller"]["data"] for s in few.values()] == [rows[:1], rows[:1]]  # shared
    for args, says in [
            ({"data": rows}, "data: its columns are variables of a scenario's steps"),
            ({"data": rows, "self": True, "scenario": {**flow, "callee": [{"op": "answer"}]}},
             "a self run calls its own agents"),
            ({"data": [{"x": "1"}], "scenario": flow}, "'to' uses ${ext}: the variables are "
                                                         "${call}, ${me}, ${peer}, ${x}"),
            ({"scenario": {"caller": [{"op": "call"}]}}, "give either targets or self")]:
        with pytest.raises(ProtoError) as err:
            parse_profile({"rate": 2, "calls": 6, **args})
        assert says in err.value.msg, err.value.msg
