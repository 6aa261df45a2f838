"""Load runs that follow a scenario (proto.scenario), run step by step inside real agents: the
examples of proto/scenarios against SIPp (whose scenario checks every step at the far end) and
self-answered, and a failing step failing the run."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import AccountCallback, Call, Error, Lib
from coordinator.client.scenarios import read
from tests.helpers import Recorder, free_udp_port, start_sipp, step_lines, stop, wait_for
from tests.integration.conftest import start_fleet

EXAMPLES = Path(__file__).parents[2] / "proto" / "scenarios"
SCENARIOS = Path(__file__).parent / "scenarios"


def _steps(report: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(s["leg"], s["step"]): s for s in report["steps"]}


def test_ivr_walk_against_sipp_passes_every_step_at_both_ends(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    # SIPp's scenario fails a call that lacks the header, a digit (in order), the hold or the
    # unhold: its exit status 0 says each of the 6 calls did every step at the far end
    uas = start_sipp(["-sf", str(SCENARIOS / "uas_ivr.xml"), "-p", str(port), "-m", "6"],
                     tmp_path)
    try:
        flow = read(str(EXAMPLES / "ivr.yaml"))
        report = lib.run_load({"rate": 3, "calls": 6, "scenario": flow,
                               "targets": [f"sip:ivr@127.0.0.1:{port}"]}, timeout=90)
        assert uas.wait(20) == 0, (tmp_path / "sipp.out").read_text()[-2000:]
    finally:
        stop(uas)
    assert (report["attempted"], report["answered"], report["failed"]) == (6, 6, 0)
    assert report["scenario"] == "ivr walk" and report["success"] is True
    steps = _steps(report)
    assert [steps[("caller", i)]["op"] for i in range(1, 12)] == [
        "call", "wait", "dtmf", "pause", "dtmf", "pause", "hold", "pause", "unhold", "pause",
        "hangup"]
    for i in range(1, 12):
        assert (steps[("caller", i)]["ok"], steps[("caller", i)]["failed"]) == (6, 0), steps
    # SIPp rings 200 ms before it answers: the wait for the answer took about that long
    assert 150 <= steps[("caller", 2)]["time_ms"]["p50"] <= 600
    assert 450 <= steps[("caller", 8)]["time_ms"]["p50"] <= 700  # the 0.5 s on hold
    assert report["setup_ms"]["count"] == 6


def test_agent_desk_self_answered_counts_each_step_on_both_legs(lib: Lib) -> None:
    # the Python client reads the file itself (scenario=PATH)
    report = lib.run_load({"rate": 2, "calls": 4, "self": True},
                          scenario=EXAMPLES / "agent-desk.yaml", timeout=90)
    assert (report["attempted"], report["answered"], report["incoming"]) == (4, 4, 4)
    assert report["success"] is True, report["steps"]
    steps = _steps(report)
    assert all(s["ok"] == 4 and s["failed"] == 0 for s in steps.values()), step_lines(steps)
    assert len(steps) == 5 + 7
    # the digit the caller sent is the one the desk expected, on every call
    assert report["dtmf"]["verified"] == 4 and report["dtmf"]["missed"] == 0
    # the desk rang 2 s: the caller's wait for the answer (after the ringing began) is most of it
    ringing_to_answer = steps[("caller", 3)]["time_ms"]["p50"]
    assert 1700 <= ringing_to_answer <= 2600, steps[("caller", 3)]
    # the caller's last step ends when the desk hangs up: hold 1 s + 0.5 s after the digit
    assert 1400 <= steps[("caller", 5)]["time_ms"]["p50"] <= 2600
    assert lib.status()["accounts"] == 0


def test_a_failing_step_fails_the_run_unless_it_is_skipped(lib: Lib) -> None:
    caller = [{"op": "call"}, {"op": "wait", "state": "confirmed"}, {"op": "dtmf", "digits": "1"},
              {"op": "pause", "s": "1"}, {"op": "hangup"}]
    expect = {"op": "expect_dtmf", "digits": "9", "timeout": 3}
    report = lib.run_load({"rate": 4, "calls": 3, "self": True, "scenario": {
        "name": "wrong digit", "caller": caller, "callee": [{"op": "answer"}, expect]}},
        timeout=60)
    steps = _steps(report)
    wrong = steps[("callee", 2)]
    assert (wrong["ok"], wrong["failed"], wrong["fatal"]) == (0, 3, 3)
    assert wrong["failed_by_reason"] == {"got 1": 3}
    # the callee hung up at once: the caller's pause was cut short by the end of the call
    assert steps[("caller", 4)]["failed_by_reason"] == {"ended": 3}
    assert report["dtmf"]["missed"] == 3 and report["success"] is False

    skip = dict(expect, on_failure="skip")
    report = lib.run_load({"rate": 4, "calls": 3, "self": True, "scenario": {
        "name": "wrong digit, skipped", "caller": caller,
        "callee": [{"op": "answer"}, skip, {"op": "wait", "state": "disconnected"}]}},
        timeout=60)
    steps = _steps(report)
    assert (steps[("callee", 2)]["failed"], steps[("callee", 2)]["fatal"]) == (3, 0)
    assert steps[("caller", 4)]["ok"] == 3 and steps[("callee", 3)]["ok"] == 3
    # a skipped step's failure is counted but does not fail the run (the DTMF check still does)
    assert report["dtmf"]["missed"] == 3


def test_chat_both_ways_counts_each_message_on_both_legs(lib: Lib) -> None:
    flow = read(str(EXAMPLES / "chat.yaml"))
    report = lib.run_load({"rate": 2, "calls": 4, "self": True, "scenario": flow}, timeout=60)
    assert report["success"] is True, report["steps"]
    steps = _steps(report)
    # each message sent (a 2xx came back) is one the other leg received with that text
    assert steps[("caller", 3)]["ok"] == steps[("callee", 2)]["ok"] == 4
    assert steps[("callee", 3)]["ok"] == steps[("caller", 4)]["ok"] == 4
    assert all(s["failed"] == 0 for s in steps.values()), step_lines(steps)


def test_tone_update_and_reinvite_steps(lib: Lib) -> None:
    # (an UPDATE while ringing needs the INVITE's offer answered first: a reliable 183)
    caller = [{"op": "call"}, {"op": "wait", "state": "early"},
              {"op": "wait", "state": "confirmed"}, {"op": "expect_tone", "timeout": 3},
              {"op": "reinvite"}, {"op": "pause", "s": "0.5"}, {"op": "update"},
              {"op": "pause", "s": "0.5"}, {"op": "expect_tone", "timeout": 3},
              {"op": "hangup"}]
    callee = [{"op": "answer", "ring": 0.5}, {"op": "expect_tone", "timeout": 3}]
    report = lib.run_load({"rate": 2, "calls": 3, "self": True, "media": "tone",
                           "scenario": {"name": "tones", "caller": caller, "callee": callee}},
                          timeout=60)
    steps = _steps(report)
    assert all((s["ok"], s["failed"]) == (3, 0) for s in steps.values()), step_lines(steps)
    assert report["tone"]["heard"] == 3 and report["success"] is True
    # a tone is heard within a few of its 20 ms frames of the answer, not at the timeout
    assert steps[("caller", 4)]["time_ms"]["p95"] < 1000


def test_expect_tone_needs_the_tone_and_times_out_on_silence(lib: Lib) -> None:
    with pytest.raises(Error) as err:
        lib.run_load({"rate": 1, "calls": 1, "self": True, "scenario": {
            "caller": [{"op": "call"}, {"op": "expect_tone"}], "callee": [{"op": "answer"}]}})
    assert err.value.err_code == "E_BAD_ARGS" and "expect_tone needs a sound" in err.value.err_msg
    with pytest.raises(Error) as err:
        lib.run_load({"rate": 1, "calls": 1, "self": True}, scenario=EXAMPLES / "nope.yaml")
    assert err.value.err_code == "E_BAD_ARGS" and "nope.yaml" in err.value.err_msg
    assert lib.status().get("loads", []) == []  # nothing was started


def test_expect_tone_fails_when_the_far_end_is_silenced_by_hold(lib: Lib) -> None:
    # the holding end offers sendonly: it keeps sending, but no longer hears the far end
    caller = [{"op": "call"}, {"op": "wait", "state": "confirmed"},
              {"op": "expect_tone", "timeout": 3}, {"op": "hold"}, {"op": "pause", "s": "0.6"},
              {"op": "expect_tone", "timeout": 0.5, "on_failure": "skip"}, {"op": "hangup"}]
    report = lib.run_load({"rate": 2, "calls": 3, "self": True, "media": "tone", "scenario": {
        "caller": caller, "callee": [{"op": "answer"}]}}, timeout=60)
    steps = _steps(report)
    assert steps[("caller", 3)]["ok"] == 3
    assert steps[("caller", 6)]["failed_by_reason"] == {"timeout": 3}
    assert 450 <= steps[("caller", 6)]["time_ms"]["p50"] <= 700
    assert steps[("caller", 7)]["ok"] == 3


def test_new_offers_wait_for_the_call_and_for_each_other(lib: Lib) -> None:
    # the callee holds right after its 200 (before the ACK: not confirmed yet), then unholds
    # at once (the hold's re-INVITE still under way): each waits its turn instead of failing
    callee = [{"op": "answer"}, {"op": "hold"}, {"op": "unhold"}, {"op": "reinvite"},
              {"op": "pause", "s": "0.3"}, {"op": "hangup"}]
    report = lib.run_load({"rate": 4, "calls": 8, "self": True, "scenario": {
        "caller": [{"op": "call"}], "callee": callee}}, timeout=60)
    steps = _steps(report)
    assert all((s["ok"], s["failed"]) == (8, 0) for s in steps.values()), step_lines(steps)
    assert report["success"] is True


def test_stopping_a_run_fails_no_step(lib: Lib) -> None:
    seen: list[dict[str, Any]] = []
    flow = {"caller": [{"op": "call"}, {"op": "wait", "state": "confirmed"},
                       {"op": "pause", "s": "30"}, {"op": "hangup"}],
            "callee": [{"op": "answer"}, {"op": "pause", "s": "30"}]}
    watch = lib.start_load({"rate": 2, "calls": 4, "self": True, "scenario": flow},
                           on_progress=seen.append)
    wait_for(lambda: bool(seen) and seen[-1]["answered"] >= 2, 15, "calls in their pause")
    lib.stop_load(watch.run)
    assert watch.finished.wait(30)
    r = watch.report
    assert r is not None and r["stopped"] is True and r["answered"] >= 2
    steps = _steps(r)
    assert steps[("caller", 2)]["ok"] == r["answered"]
    # the calls the stop hung up were at their pause, on both legs: each agent hangs up its
    # own legs and tells the far end's (whose agent may not have heard of the stop yet) that
    # the run is stopping: no step failed, none reached the hangup
    assert all(s["failed"] == 0 for s in steps.values()), step_lines(steps)
    assert steps[("caller", 3)]["ok"] == steps[("caller", 4)]["ok"] == 0


def test_call_centre_transfers_every_caller_to_the_back_office(lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    # the back office: SIPp's uas, which exits 0 once it has had (and ended) exactly 4 calls
    office = start_sipp(["-sn", "uas", "-p", str(port), "-m", "4"], tmp_path)
    try:
        flow = read(str(EXAMPLES / "call-centre.yaml"))
        flow["callee"][1:5] = [{"op": "wait", "state": "confirmed"}, {"op": "hold"},
                               {"op": "pause", "s": "0.5"}, {"op": "unhold"}]  # shorter
        flow["callee"][5]["to"] = f"sip:office@127.0.0.1:{port}"
        report = lib.run_load({"rate": 2, "calls": 4, "self": True, "scenario": flow},
                              timeout=90)
        assert office.wait(20) == 0, (tmp_path / "sipp.out").read_text()[-2000:]
    finally:
        stop(office)
    assert (report["attempted"], report["answered"], report["failed"]) == (4, 4, 0)
    assert report["transferred"] == 4 and report["success"] is True, report["steps"]
    steps = _steps(report)
    assert all((s["ok"], s["failed"]) == (4, 0) for s in steps.values()), step_lines(steps)
    assert steps[("callee", 6)]["op"] == "transfer"
    assert [steps[("transferee", i)]["op"] for i in (1, 2, 3)] == ["wait", "pause", "hangup"]
    # the desk's transfer passed when the back office answered the transferred call
    assert steps[("callee", 6)]["time_ms"]["p50"] < 2000
    assert lib.status()["calls"] == 0 and lib.status()["accounts"] == 0


def test_ivr_menu_a_tone_step_is_heard_by_the_caller(lib: Lib) -> None:
    flow = read(str(EXAMPLES / "ivr-menu.yaml"))
    report = lib.run_load({"rate": 2, "calls": 4, "self": True, "scenario": flow}, timeout=60)
    steps = _steps(report)
    assert all((s["ok"], s["failed"]) == (4, 0) for s in steps.values()), step_lines(steps)
    assert report["success"] is True and report["dtmf"]["verified"] == 8
    # the prompt is heard within a few 20 ms frames of the digit that asked for it
    assert steps[("caller", 4)]["time_ms"]["p95"] < 800
    assert steps[("callee", 3)]["time_ms"]["p50"] >= 490  # the tone's half second

    # the prompt late (after a silent second): the caller, listening 0.6 s, hears nothing
    flow["callee"][2:3] = [{"op": "pause", "s": "1"}, {"op": "tone", "s": 0.2}]
    flow["caller"][3] = {"op": "expect_tone", "timeout": 0.6, "on_failure": "skip"}
    late = lib.run_load({"rate": 2, "calls": 2, "self": True, "scenario": flow}, timeout=60)
    steps = _steps(late)
    assert steps[("caller", 4)]["failed_by_reason"] == {"timeout": 2}, steps
    assert steps[("caller", 8)]["ok"] == 2 and steps[("callee", 5)]["ok"] == 2  # it went on


def _tone_wav(path: Path, seconds: float, hz: int = 1000, rate: int = 8000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(
            struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate)))
            for i in range(int(seconds * rate))))
    return path


def test_a_play_step_sends_the_file_once_or_looped_and_a_missing_file_fails_it(
        lib: Lib, tmp_path: Path) -> None:
    prompt = _tone_wav(tmp_path / "prompt.wav", 1.0)
    # the callee plays the 1 s prompt, then a file that is not there (skipped), then the
    # prompt looped for 2.5 s; the caller hears the prompt and waits for the end
    callee = [{"op": "answer"}, {"op": "play", "file": str(prompt)},
              {"op": "play", "file": str(tmp_path / "absent.wav"), "on_failure": "skip"},
              {"op": "play", "file": str(prompt), "s": 2.5}, {"op": "hangup"}]
    caller = [{"op": "call"}, {"op": "wait", "state": "confirmed"},
              {"op": "expect_tone", "timeout": 3}, {"op": "pause", "s": "2"},
              {"op": "expect_tone", "timeout": 1}, {"op": "wait", "state": "disconnected"}]
    report = lib.run_load({"rate": 2, "calls": 3, "self": True,
                           "scenario": {"name": "prompts", "caller": caller, "callee": callee}},
                          timeout=60)
    steps = _steps(report)
    assert steps[("callee", 3)]["failed_by_reason"] == {"no file absent.wav": 3}, steps
    assert all((s["ok"], s["failed"]) == (3, 0) for k, s in steps.items()
               if k != ("callee", 3)), step_lines(steps)
    assert report["success"] is True
    # the file once: its second; looped: the 2.5 s asked (2 s into it, it is still heard)
    assert 950 <= steps[("callee", 2)]["time_ms"]["p50"] <= 1400, steps[("callee", 2)]
    assert 2450 <= steps[("callee", 4)]["time_ms"]["p50"] <= 2900, steps[("callee", 4)]
    assert steps[("caller", 3)]["time_ms"]["p95"] < 1000


class _Supervisor(AccountCallback):
    """The transfer target of an attended transfer: answers each consultation call, and counts
    the INVITEs with Replaces that named one, the calls that took their place and how those
    ended."""

    def __init__(self) -> None:
        super().__init__()
        self.consulted: list[Recorder] = []
        self.replaces: list[int] = []
        self.taken: list[Recorder] = []

    def on_incoming_call(self, call: Call) -> None:
        sup = self

        class Consulted(Recorder):
            def on_replace_request(self, code: int, from_uri: str) -> None:
                sup.replaces.append(code)

            def on_replaced(self, new_call: Call) -> None:
                rec = Recorder()
                new_call.set_callback(rec)
                sup.taken.append(rec)

        rec = Consulted()
        call.set_callback(rec)
        self.consulted.append(rec)
        call.answer(200)


def test_attended_transfer_hands_each_customer_to_the_supervisor_in_place_of_the_desk(
        lib: Lib) -> None:
    # the supervisor's desk is a UA of another fleet, reached over SIP like any phone
    other = start_fleet(1)
    desk = next(other)
    try:
        sup = _Supervisor()
        acc = desk.create_account("sip:supervisor@127.0.0.1", cb=sup)
        flow = read(str(EXAMPLES / "attended-transfer.yaml"))
        flow["callee"][2]["to"] = acc.contact
        report = lib.run_load({"rate": 1, "calls": 3, "self": True, "scenario": flow},
                              timeout=90)
        steps = _steps(report)
        assert all((s["ok"], s["failed"]) == (3, 0) for s in steps.values()), step_lines(steps)
        assert report["success"] is True and report["transferred"] == 3
        assert report["attempted"] == report["completed"] == 3
        # the supervisor: 3 consultation calls, each replaced (Replaces accepted) by a call
        # from the customer, which the customer hung up after its second; the consultation
        # calls ended by the replacement
        wait_for(lambda: len(sup.taken) == 3 and all(r.last() == "DISCONNECTED"
                                                     for r in sup.taken + sup.consulted),
                 10, "every call at the supervisor to end")
        assert len(sup.consulted) == 3 and sup.replaces == [200, 200, 200]
        assert all(r.reached("CONFIRMED") for r in sup.taken + sup.consulted)
        # the transfer's step ends when the customer's new call is answered at the supervisor
        assert steps[("callee", 4)]["time_ms"]["p50"] < 2000
        assert 950 <= steps[("transferee", 2)]["time_ms"]["p50"] <= 1500
    finally:
        next(other, None)
    assert lib.status()["calls"] == 0 and lib.status()["accounts"] == 0


def _sipp_calls(log: Path) -> dict[str, dict[str, str]]:
    """What each call brought SIPp, from its -trace_msg log, by Call-ID: the Request-URI's user,
    the X-Account header and the DTMF digits of its INFOs, in order."""
    calls: dict[str, dict[str, str]] = {}
    for chunk in log.read_text(errors="replace").split("UDP message received")[1:]:
        lines = [line.strip() for line in chunk.splitlines()]
        start = next((line for line in lines if " SIP/2.0" in line), "")
        call_id = next((line.split(":", 1)[1].strip() for line in lines
                        if line.lower().startswith("call-id:")), "")
        call = calls.setdefault(call_id, {"ext": "", "account": "", "pin": ""})
        if start.startswith("INVITE "):
            call["ext"] = start.split()[1].split(":", 1)[1].split("@")[0]
            call["account"] = next((line.split(":", 1)[1].strip() for line in lines
                                    if line.startswith("X-Account:")), "")
        elif start.startswith("INFO "):
            call["pin"] += next((line.split("=", 1)[1].strip() for line in lines
                                 if line.startswith("Signal=")), "")
    return calls


def test_each_call_takes_a_row_of_the_data_file_its_target_header_and_digits(
        lib: Lib, tmp_path: Path) -> None:
    port = free_udp_port()
    # the PBX: SIPp, which needs the header and logs what each call brought
    pbx = start_sipp(["-sf", str(SCENARIOS / "uas_pin.xml"), "-p", str(port), "-m", "6",
                      "-trace_msg"], tmp_path)
    try:
        data = EXAMPLES / "extensions.csv"
        flow = read(str(EXAMPLES / "extensions.yaml"), ("ext", "account", "pin"))
        flow["caller"][0]["to"] = f"sip:${{ext}}@127.0.0.1:{port}"
        report = lib.run_load({"rate": 3, "calls": 6}, scenario=flow, data=data, timeout=90)
        assert pbx.wait(20) == 0, (tmp_path / "sipp.out").read_text()[-2000:]
    finally:
        stop(pbx)
    assert (report["attempted"], report["answered"], report["failed"]) == (6, 6, 0)
    assert report["profile"]["data"] == 6 and report["success"] is True
    assert all(s["ok"] == 6 for s in report["steps"]), step_lines(report["steps"])
    # every row was one call's, exactly once: its extension, its account, its PIN
    rows = {tuple(line.split(",")) for line in data.read_text().split()[1:]}
    log = next(tmp_path.glob("uas_pin_*_messages.log"))
    seen = [(c["ext"], c["account"], c["pin"]) for c in _sipp_calls(log).values()]
    assert sorted(seen) == sorted(rows), seen
