"""Scenarios as data (proto.scenario): checks that name the step, the built-in flow, and the
per-step table the agents count into and the coordinator adds up (proto.steptable)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from coordinator.cli.outputs import CSV_COLUMNS, CsvStream
from proto import ProtoError, scenario
from proto.steptable import MAX_STEP_REASONS, StepTable

IVR: dict[str, Any] = {
    "name": "ivr",
    "caller": [{"op": "call", "headers": {"X-Test": "1"}},
               {"op": "wait", "state": "confirmed", "timeout": 5},
               {"op": "dtmf", "digits": "1"},
               {"op": "pause", "s": 0.5},
               {"op": "dtmf", "digits": "2#", "method": "info"},
               {"op": "hangup"}],
    "callee": [{"op": "answer", "ring": 1, "codes": "200"},
               {"op": "expect_dtmf", "digits": "1", "timeout": 3, "on_failure": "skip"},
               {"op": "expect_dtmf", "digits": "2#"}],
}


def _error(raw: Any) -> str:
    with pytest.raises(ProtoError) as err:
        scenario.check(raw)
    assert err.value.code == "E_BAD_ARGS"
    return err.value.msg


def test_a_good_scenario_passes_and_numbers_become_seconds() -> None:
    flow = scenario.check(IVR)
    assert flow["name"] == "ivr"
    assert [s["op"] for s in flow["caller"]] == ["call", "wait", "dtmf", "pause", "dtmf",
                                                 "hangup"]
    assert flow["caller"][3]["s"] == "0.5"
    assert flow["callee"][1]["on_failure"] == "skip"


@pytest.mark.parametrize(("change", "message"), [
    (lambda s: s["callee"][2].update(digits="2x"),
     "callee step 3 (expect_dtmf): 'digits' must be a string of 0-9*#A-D"),
    (lambda s: s["caller"][1].update(state="ringing"),
     "caller step 2 (wait): 'state' must be one of early, confirmed, disconnected"),
    (lambda s: s["caller"][3].update(s="gauss:1"),
     "caller step 4 (pause): bad distribution 'gauss:1': use S, exp:MEAN or uniform:A:B"),
    (lambda s: s["caller"][2].update(digit="1"), "caller step 3 (dtmf): unknown argument 'digit'"),
    (lambda s: s["caller"][2].update(op="dial"), "caller step 3: 'op' must be one of call, "),
    (lambda s: s["caller"].pop(0), "caller step 1: the caller's first step must be 'call'"),
    (lambda s: s["callee"].insert(0, {"op": "call"}), "callee step 1 (call): not a callee step"),
    (lambda s: s["caller"].append({"op": "pause", "s": "1"}),
     "caller step 7 (pause): nothing runs after a hangup"),
    (lambda s: s["callee"][0].update(codes="99"), "callee step 1 (answer): answer-code mix"),
    (lambda s: s["caller"][1].update(timeout=True), "caller step 2 (wait): 'timeout' must be "
                                                    "float, got bool"),
    (lambda s: s["caller"].insert(2, "hold"), "caller step 3: a step is a map with an 'op'"),
    (lambda s: s.update(legs=[]), "scenario: unknown key 'legs'"),
])
def test_a_bad_step_is_named_by_leg_index_kind_and_field(change: Any, message: str) -> None:
    raw = {"name": IVR["name"], "caller": [dict(s) for s in IVR["caller"]],
           "callee": [dict(s) for s in IVR["callee"]]}
    change(raw)
    assert _error(raw).startswith(message)


def test_too_many_steps_and_not_a_map_are_refused() -> None:
    assert "more than" in _error({"caller": [{"op": "call"}] + [{"op": "hold"}] * 64})
    assert _error([]) == "scenario: a map of name, caller and callee"
    assert _error({"callee": []}) == "scenario: 'caller' (its steps) is missing"


@pytest.mark.parametrize("hangup", ["caller", "callee"])
@pytest.mark.parametrize("dtmf", ["", "12#"])
def test_the_builtin_flow_is_a_valid_scenario(hangup: str, dtmf: str) -> None:
    flow = scenario.builtin("exp:2", hangup, dtmf, "info", "200:9,486:1", 1.5)
    caller = [s["op"] for s in flow["caller"]]
    callee = [s["op"] for s in flow["callee"]]
    assert caller[:2] == ["call", "wait"]
    assert ("dtmf" in caller) == bool(dtmf)
    assert ("expect_dtmf" in callee) == bool(dtmf)
    hanging = caller if hangup == "caller" else callee
    assert hanging[-2:] in (["pause", "hangup"], ["expect_dtmf", "hangup"])
    assert flow["callee"][0] == {"op": "answer", "codes": "200:9,486:1", "ring": 1.5}
    assert scenario.check(flow) == flow


def test_describe_lists_every_step() -> None:
    lines = scenario.describe(scenario.check(IVR))
    assert lines[0] == "scenario ivr"
    assert "     5. dtmf  (digits=2#, method=info)" in lines
    assert len(lines) == 1 + 2 + len(IVR["caller"]) + len(IVR["callee"])


def test_step_tables_add_up_over_agents_and_keep_reasons_bounded() -> None:
    a, b = StepTable(), StepTable()
    a.record("caller", 2, "wait", True, "", 0.2, False)
    a.record("caller", 2, "wait", False, "ended 486", 0.1, False)
    b.record("caller", 2, "wait", True, "", 0.3, False)
    b.record("callee", 2, "expect_dtmf", False, "got 13", 1.0, True)
    for i in range(MAX_STEP_REASONS + 3):
        b.record("callee", 2, "expect_dtmf", False, f"got {i}", 1.0, True)
    total = StepTable()
    total.merge_wire(a.to_wire())
    total.merge_wire(b.to_wire())
    total.merge_wire([{"leg": "caller"}, "junk", {"leg": "x", "i": True, "op": "y", "b": []}])
    rows = {(r["leg"], r["step"]): r for r in total.summary()}
    assert set(rows) == {("caller", 2), ("callee", 2)}
    wait = rows[("caller", 2)]
    assert (wait["ok"], wait["failed"], wait["fatal"]) == (2, 1, 0)
    assert wait["failed_by_reason"] == {"ended 486": 1}
    expect = rows[("callee", 2)]
    assert (expect["ok"], expect["failed"], expect["fatal"]) == (0, MAX_STEP_REASONS + 4,
                                                                 MAX_STEP_REASONS + 4)
    assert len(expect["failed_by_reason"]) == MAX_STEP_REASONS + 1  # the rest as "other"
    assert total.fatal() == MAX_STEP_REASONS + 4
    assert 150 <= wait["time_ms"]["p50"] <= 310


def test_variables_are_checked_and_expanded() -> None:
    flow = scenario.check({"caller": [{"op": "call", "headers": {"X-From": "${me} #${call}"}},
                                      {"op": "message", "text": "to ${peer}"}]})
    values = {"call": "7", "me": "sip:a@h", "peer": "sip:b@h"}
    assert scenario.expand(flow["caller"][0]["headers"]["X-From"], values) == "sip:a@h #7"
    assert scenario.expand("${peer}${peer} $x {me}", values) == "sip:b@hsip:b@h $x {me}"
    assert _error({"caller": [{"op": "call"}, {"op": "message", "text": "hi ${you}"}]}) == (
        "caller step 2 (message): 'text' uses ${you}: the variables are ${call}, ${me}, "
        "${peer}")
    assert "'headers' uses ${}" in _error({"caller": [{"op": "call",
                                                       "headers": {"X-A": "${}"}}]})


def test_a_transfer_needs_the_transferees_steps_and_they_neither_call_nor_answer() -> None:
    caller = [{"op": "call"}, {"op": "wait", "state": "confirmed"},
              {"op": "transfer", "to": "sip:office@127.0.0.1"}]
    assert _error({"caller": caller}).startswith(
        "scenario: a transfer step needs the transferee's steps")
    assert _error({"caller": caller, "transferee": [{"op": "answer"}]}) == (
        "transferee step 1 (answer): not a transferee step")
    assert _error({"caller": caller[:2] + [{"op": "transfer", "to": "office"}],
                   "transferee": [{"op": "hangup"}]}).startswith(
        "caller step 3 (transfer): 'to': 'office' is not a sip: or sips: URI")
    flow = scenario.check({"caller": caller, "transferee": [{"op": "pause", "s": 1},
                                                            {"op": "hangup"}]})
    assert flow["transferee"][0] == {"op": "pause", "s": "1"}
    assert scenario.describe(flow)[-3:] == ["  transferee: 2 steps", "     1. pause  (s=1)",
                                            "     2. hangup"]


def test_tone_steps_are_checked() -> None:
    flow = scenario.check({"caller": [{"op": "call"}, {"op": "tone", "s": 0.5, "hz": 440}]})
    assert flow["caller"][1] == {"op": "tone", "s": 0.5, "hz": 440}
    assert _error({"caller": [{"op": "call"}, {"op": "tone", "s": 1, "hz": 50}]}) == (
        "caller step 2 (tone): 'hz' must be >= 100")
    assert _error({"caller": [{"op": "call"}, {"op": "tone"}]}) == (
        "caller step 2 (tone): missing argument 's'")
    for bad in ("prompt.wav", "/tmp/prompt.mp3", "/tmp/a\0.wav"):
        assert _error({"caller": [{"op": "call"}, {"op": "play", "file": bad}]}) == (
            "caller step 2 (play): 'file' must be an absolute path of a .wav file")
    flow = scenario.check({"caller": [{"op": "call"}, {"op": "play", "file": "/p/${me}.WAV",
                                                       "s": 2}]})
    assert flow["caller"][1] == {"op": "play", "file": "/p/${me}.WAV", "s": 2}


def test_every_step_of_a_leg_has_a_row_before_any_call_reaches_it() -> None:
    table = StepTable()
    flow = scenario.builtin(dtmf="1")
    table.declare("caller", flow["caller"])
    table.record("caller", 1, "call", True, "", 0.0, False)
    rows = table.summary()
    assert [(r["step"], r["op"], r["ok"]) for r in rows] == [
        (1, "call", 1), (2, "wait", 0), (3, "dtmf", 0), (4, "pause", 0), (5, "hangup", 0)]
    assert rows[1]["time_ms"]["p95"] == 0 and rows[1]["failed_by_reason"] == {}


def test_the_csv_has_three_columns_per_step_from_the_progress_steps(tmp_path: Path) -> None:
    flow = scenario.builtin()
    stream = CsvStream(tmp_path / "r.csv", flow)
    table = StepTable()
    table.record("caller", 2, "wait", True, "", 0.25, False)
    table.record("caller", 2, "wait", False, "ended 486", 0.1, False)
    table.record("caller", 9, "end", True, "", 0.1, False)  # no column: not a step of the flow
    stream.add({"t": 1.0, "started": 2, "steps": table.summary()})
    stream.add({"t": 2.0, "started": 2})  # a row without steps: the cells stay empty
    stream.finish(None)
    with (tmp_path / "r.csv").open() as f:
        rows = list(csv.DictReader(f))
    steps = [k for k in rows[0] if k not in CSV_COLUMNS]
    assert steps == [f"{leg}.{i}.{op}.{cell}" for leg, i, op in (
        ("caller", 1, "call"), ("caller", 2, "wait"), ("caller", 3, "pause"),
        ("caller", 4, "hangup"), ("callee", 1, "answer")) for cell in ("ok", "failed", "p95_ms")]
    assert (rows[0]["caller.2.wait.ok"], rows[0]["caller.2.wait.failed"]) == ("1", "1")
    assert 240 <= float(rows[0]["caller.2.wait.p95_ms"]) <= 260
    assert rows[0]["caller.1.call.ok"] == "" and rows[1]["caller.2.wait.ok"] == ""


def test_an_attended_transfer_needs_a_consult_before_it_and_the_transferees_steps() -> None:
    consult = {"op": "consult", "to": "sip:sup@127.0.0.1:5090", "timeout": 5}
    callee = [{"op": "answer"}, consult, {"op": "attended_transfer"}, {"op": "hangup"}]
    flow = scenario.check({"caller": [{"op": "call"}], "callee": callee,
                           "transferee": [{"op": "hangup"}]})
    assert [s["op"] for s in flow["callee"]] == ["answer", "consult", "attended_transfer",
                                                 "hangup"]
    assert _error({"caller": [{"op": "call"}], "callee": callee}).startswith(
        "scenario: an attended_transfer step needs the transferee's steps")
    assert _error({"caller": [{"op": "call"}], "transferee": [{"op": "hangup"}],
                   "callee": [{"op": "answer"}, {"op": "attended_transfer"}, consult]}) == (
        "callee step 2 (attended_transfer): a consult step must come before (the call to "
        "hand the far end over to)")
    assert _error({"caller": [{"op": "call"}], "transferee": [consult]}) == (
        "transferee step 1 (consult): not a transferee step")
    assert _error({"caller": [{"op": "call"}, {**consult, "to": "sup"}]}).startswith(
        "caller step 2 (consult): 'to': 'sup' is not a sip: or sips: URI")


def test_per_call_data_columns_are_variables_of_the_callers_steps() -> None:
    rows = scenario.check_data([{"ext": "201", "pin": 1234}, {"ext": "202", "pin": "99#"}])
    assert rows == [{"ext": "201", "pin": "1234"}, {"ext": "202", "pin": "99#"}]
    caller = [{"op": "call", "to": "sip:${ext}@pbx.example", "headers": {"X-Pin": "${pin}"}},
              {"op": "dtmf", "digits": "${pin}"}]
    flow = scenario.check({"caller": caller}, ("ext", "pin"))
    assert flow["caller"][1]["digits"] == "${pin}"  # checked once its value is known
    assert _error({"caller": caller}) == (
        "caller step 1 (call): 'to' uses ${ext}: the variables are ${call}, ${me}, ${peer}")
    with pytest.raises(ProtoError) as err:  # the callee's steps do not see the data
        scenario.check({"caller": [{"op": "call"}],
                        "callee": [{"op": "expect_dtmf", "digits": "${pin}"}]}, ("pin",))
    assert err.value.msg.startswith("callee step 1 (expect_dtmf): 'digits' uses ${pin}")
    assert _error({"caller": [{"op": "call", "to": "pbx"}]}).startswith(
        "caller step 1 (call): 'to': 'pbx' is not a sip: or sips: URI")
    with pytest.raises(ProtoError) as err:
        scenario.check({"caller": [{"op": "call", "to": "${ext}@pbx"}]}, ("ext",))
    assert err.value.msg == "caller step 1 (call): 'to' must be a sip: or sips: URI"


@pytest.mark.parametrize(("rows", "message"), [
    ([], "data: a list of 1..4096 rows"),
    ([{"ext": "1"}] * 4097, "data: a list of 1..4096 rows"),
    ([{}], "data row 1: a map of 1..16 columns"),
    ([{"call": "1"}], "data: column 'call' is not a variable name"),
    ([{"a-b": "1"}], "data: column 'a-b' is not a variable name"),
    ([{"ext": "1"}, {"ext": "2", "pin": "3"}], "data row 2: the columns must be ext"),
    ([{"ext": "1"}, {"ext": "x\r\nVia: evil"}], "data row 2: 'ext' must be text of at most 256"),
    ([{"ext": True}], "data row 1: 'ext' must be text"),
    ([{"ext": "x" * 256}] * 2100, "data: more than 512 KiB of values"),
])
def test_bad_data_is_refused_with_its_row_and_column(rows: list[Any], message: str) -> None:
    with pytest.raises(ProtoError) as err:
        scenario.check_data(rows)
    assert err.value.msg.startswith(message), err.value.msg
