"""`callfleet scenario check` and `callfleet load --scenario`: a file is read and checked before
any fleet is touched; a mistake is one line naming the step, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from coordinator.cli.main import main

EXAMPLES = Path(__file__).parents[2] / "proto" / "scenarios"


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_the_examples_check_and_print_their_flow(name: str, capsys: pytest.CaptureFixture[str]
                                                 ) -> None:
    data = (EXAMPLES / name).with_suffix(".csv")  # its per-call data, if it has one
    extra = ["--data", str(data)] if data.exists() else []
    assert main(["scenario", "check", str(EXAMPLES / name), *extra]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario ") and "caller:" in out and " 1. call" in out


def test_data_columns_are_the_scenarios_variables_and_bad_data_is_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flow, data = EXAMPLES / "extensions.yaml", EXAMPLES / "extensions.csv"
    assert main(["scenario", "check", str(flow), "--data", str(data)]) == 0
    assert "data columns: ${ext}, ${account}, ${pin}" in capsys.readouterr().out
    assert main(["scenario", "check", str(flow)]) == 2  # without the data: unknown variables
    assert "caller step 1 (call): 'to' uses ${ext}" in capsys.readouterr().err
    for text, message in [
            ("ext,pin\n201,1\n202\n", "line 3: 2 values expected, as the header row names"),
            ("ext,pin\n201,1,9\n", "line 2: 2 values expected"),
            ("ext\n", "a header row of column names, then a row per call"),
            ("e-x-t\n1\n", "data: column 'e-x-t' is not a variable name"),
            ('ext\n"201\n', "not CSV")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(text)
        assert main(["scenario", "check", str(flow), "--data", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and message in err, (text, err)
    far = ["--coordinator", "tcp://127.0.0.1:9"]
    assert main(["load", "--calls", "1", "--data", str(data), *far]) == 2
    assert "--data gives variables to a scenario's steps" in capsys.readouterr().err
    assert main(["load", "--calls", "1", "--scenario", str(flow), "--data",
                 str(tmp_path / "no.csv"), *far]) == 2
    assert "--data " in capsys.readouterr().err


@pytest.mark.parametrize(("text", "suffix", "message"), [
    ("caller:\n  - op: call\n  - op: dtmf\n    digits: '1x'\n", ".yaml",
     "caller step 2 (dtmf): 'digits' must be a string of 0-9*#A-D"),
    ("caller: [op: call\n", ".yaml", "not YAML (line 2)"),
    ('{"caller": [{"op": "call"}], "callee": [{"op": "ring"}]}', ".json",
     "callee step 1: 'op' must be one of"),
    ("{", ".json", "not JSON"),
    ("- a list\n", ".yaml", "scenario: a map of name, caller and callee"),
    ("caller: []\n", ".txt", "a scenario file ends in .yaml, .yml or .json"),
])
def test_a_bad_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"s{suffix}"
    path.write_text(text)
    assert main(["scenario", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and message in err, err


def test_load_refuses_a_bad_scenario_or_mixed_flow_options_before_any_fleet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("caller:\n  - op: wait\n    state: confirmed\n")
    # no coordinator answers on this address: a fleet touched would be an error of its own
    far = ["--coordinator", "tcp://127.0.0.1:9"]
    assert main(["load", "--self", "--calls", "1", "--scenario", str(bad), *far]) == 2
    assert "caller's first step must be 'call'" in capsys.readouterr().err
    good = EXAMPLES / "agent-desk.yaml"
    assert main(["load", "--self", "--calls", "1", "--scenario", str(good), "--hold", "2",
                 "--dtmf", "1", *far]) == 2
    assert "--scenario replaces --hold, --dtmf" in capsys.readouterr().err
    assert main(["load", "--self", "--calls", "1", "--scenario", str(tmp_path / "no.yaml"),
                 *far]) == 2
    assert "no.yaml: No such file or directory" in capsys.readouterr().err


def test_a_step_limit_must_name_a_step_of_the_scenario(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    far = ["--coordinator", "tcp://127.0.0.1:9"]
    desk = str(EXAMPLES / "agent-desk.yaml")
    assert main(["load", "--self", "--calls", "1", "--scenario", desk, "--max-step-p95",
                 "expect_tone=1s", *far]) == 2
    assert "--max-step-p95 expect_tone: the run's scenario has no such step" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit) as done:
        main(["load", "--self", "--calls", "1", "--max-step-p95", "500ms", *far])
    assert done.value.code == 2 and "is not STEP=TIME" in capsys.readouterr().err
