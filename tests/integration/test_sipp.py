"""Calls with SIPp as the real peer: outgoing to `sipp -sn uas`, incoming from `sipp -sn uac`,
and the capacity rule: 4 calls fill one agent, the 5th goes to another."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.client import Error, Lib
from tests.helpers import Answerer, Recorder, free_udp_port, start_sipp, stop, wait_for


def test_call_to_sipp_uas(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "1"], tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        out = Recorder()
        call = alice.make_call(f"sip:service@127.0.0.1:{port}", cb=out)
        wait_for(lambda: out.reached("CONFIRMED"), 10, "SIPp to answer")
        call.hangup()
        wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
        assert out.names() == ["CALLING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
        assert uas.wait(15) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-2000:]
    finally:
        stop(uas)


def test_incoming_call_from_sipp_uac_is_auto_answered(lib: Lib, tmp_path: Path) -> None:
    answered: list[str] = []

    class Watch(Answerer):
        def on_incoming_call(self, call) -> None:  # type: ignore[no-untyped-def]
            answered.append(call.id)
            super().on_incoming_call(call)

    watch = Watch(codes=())  # the agent answers by itself: the callback only watches
    bob = lib.create_account("sip:bob@127.0.0.1", cb=watch, auto_answer=200)
    hostport = bob.contact.split("@", 1)[1]
    uac = start_sipp([hostport, "-sn", "uac", "-s", "bob", "-m", "1", "-d", "500",
                      "-timeout", "20", "-timeout_error"], tmp_path)
    try:
        assert uac.wait(25) == 0, (tmp_path / "sipp.out").read_text(errors="replace")[-2000:]
        wait_for(lambda: bool(watch.recorders) and watch.recorders[0].last() == "DISCONNECTED",
                 10, "the incoming call to end")
        assert watch.recorders[0].names() == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
        assert len(answered) == 1
    finally:
        stop(uac)


def test_four_calls_fill_an_agent_and_the_fifth_goes_elsewhere(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "5"], tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        recs = [Recorder() for _ in range(5)]
        calls = [alice.make_call(f"sip:service@127.0.0.1:{port}", cb=r) for r in recs]
        wait_for(lambda: all(r.reached("CONFIRMED") for r in recs), 15, "5 calls CONFIRMED")
        agents = [c.agent for c in calls]
        assert agents[:4] == [alice.agent] * 4
        assert agents[4] != alice.agent
        loads = {a["name"]: a["calls"] for a in lib.agents()}
        assert loads == {alice.agent: 4, agents[4]: 1}
        for c in calls:
            c.hangup()
        wait_for(lambda: all(r.last() == "DISCONNECTED" for r in recs), 10, "all calls to end")
        assert uas.wait(15) == 0
    finally:
        stop(uas)


def test_a_full_fleet_refuses_with_no_capacity_and_keeps_serving(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "8"], tmp_path)
    try:
        alice = lib.create_account("sip:alice@127.0.0.1")
        recs = [Recorder() for _ in range(8)]
        calls = [alice.make_call(f"sip:service@127.0.0.1:{port}", cb=r) for r in recs]
        with pytest.raises(Error) as exc:
            alice.make_call(f"sip:service@127.0.0.1:{port}")
        assert exc.value.err_code == "E_NO_CAPACITY"
        wait_for(lambda: all(r.reached("CONFIRMED") for r in recs), 15, "8 calls CONFIRMED")
        assert sorted(a["calls"] for a in lib.agents()) == [4, 4]
        for c in calls:
            c.hangup()
        wait_for(lambda: all(r.last() == "DISCONNECTED" for r in recs), 10, "all calls to end")
        assert uas.wait(15) == 0
        assert len(lib.agents()) == 2  # no agent aborted
    finally:
        stop(uas)
