"""`callfleet load` before and after a run (pure): options checked before anything starts, the
CSV written as the run goes, the charts and the HTML report rendered from a report."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from coordinator.cli import loadopts
from coordinator.cli.charts import png, svg
from coordinator.cli.htmlreport import render
from coordinator.cli.main import build_parser
from coordinator.cli.outputs import CSV_COLUMNS, CsvStream
from coordinator.server.load.plan import Seat, parse_profile, plan
from proto import ProtoError

SAMPLE = Path(__file__).with_name("data") / "load_report.json"


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["load", *argv])


def _unusable(*argv: str) -> str:
    with pytest.raises(loadopts.Unusable) as err:
        loadopts.check(_args(*argv))
    return str(err.value)


def test_a_run_without_an_end_or_with_bad_options_is_refused_before_anything_starts() -> None:
    assert "calls > 0 or duration > 0" in _unusable()
    assert "either --target or --self" in _unusable("--self", "--target", "sip:a@127.0.0.1", "-m", "1")
    assert "answer" in _unusable("-m", "1", "--answer-code", "abc").lower()
    assert "--registrar and --credentials" in _unusable("-m", "1", "--registrar", "sip:r@127.0.0.1")


def test_a_self_run_may_go_through_a_sip_front() -> None:
    profile = loadopts.check(_args("-m", "4", "--via-front", "127.0.0.1:5060"))
    assert profile["self"] is True and profile["front"] == "sip:127.0.0.1:5060"
    assert loadopts.check(_args("-m", "4", "--via-front", "[::1]:5060"))["front"] == "sip:[::1]:5060"
    assert "--via-front is for --self" in _unusable("-m", "1", "--via-front", "127.0.0.1:5060",
                                                    "--target", "sip:a@127.0.0.1")
    with pytest.raises(SystemExit):
        _args("-m", "1", "--via-front", "127.0.0.1")


def test_call_options_of_a_run() -> None:
    profile = loadopts.check(_args("-m", "4", "--100rel", "mandatory", "--timers", "120",
                                   "--srtp", "mandatory"))
    assert {k: profile[k] for k in ("require_100rel", "use_timer", "timer_se", "use_srtp",
                                    "srtp_keying")} == {
        "require_100rel": "mandatory", "use_timer": "always", "timer_se": 120,
        "use_srtp": "mandatory", "srtp_keying": "sdes"}
    plain = loadopts.check(_args("-m", "4"))
    assert not {"require_100rel", "use_timer", "use_srtp"} & set(plain)
    assert "timer_se" in _unusable("-m", "1", "--timers", "30")
    shares = plan(parse_profile(profile), [Seat("agent-01", 4, "127.0.0.1:5071")], "L1")
    assert shares["agent-01"]["caller"]["session"] == shares["agent-01"]["answer"]["session"] == {
        "require_100rel": "mandatory", "srtp_keying": "sdes", "timer_se": 120,
        "use_srtp": "mandatory", "use_timer": "always"}


def test_a_self_run_through_a_front_calls_the_answering_identity_there() -> None:
    profile = parse_profile({"rate": 1, "calls": 4, "self": True, "front": "sip:10.0.0.1:5060"})
    seats = [Seat(f"agent-0{i}", 4, f"127.0.0.1:{5070 + i}") for i in (1, 2)]
    shares = plan(profile, seats, "L1")
    assert [s["caller"]["targets"] for s in shares.values()] == [["sip:L1-ans@10.0.0.1:5060"]] * 2
    assert [s["answer"]["ids"][0]["uri"] for s in shares.values()] == [
        "sip:L1-ans@127.0.0.1:5071", "sip:L1-ans@127.0.0.1:5072"]
    with pytest.raises(ProtoError, match="front is for self runs"):
        parse_profile({"rate": 1, "calls": 4, "targets": ["sip:a@h"], "front": "sip:10.0.0.1:5060"})


def test_report_paths_are_checked_before_the_run(tmp_path: Path) -> None:
    assert "no directory" in _unusable("-m", "1", "--report", str(tmp_path / "no" / "r.json"))
    assert "is a directory" in _unusable("-m", "1", "--csv", str(tmp_path))
    assert loadopts.check(_args("-m", "1", "--html", str(tmp_path / "r.html")))["calls"] == 1


@pytest.mark.parametrize("argv", [["--duration", "-5"], ["--rat", "10"], ["-r", "0"],
                                  ["--min-rate-pct", "120"]])
def test_mistyped_or_out_of_range_options_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _args(*argv)
    assert exit_.value.code == 2


def test_the_csv_has_each_row_as_it_comes_and_the_missed_ones_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    stream = CsvStream(path)
    stream.add({"t": 1.0, "started": 10, "rate": 10.0})
    stream.add({"t": 1.0, "started": 10, "rate": 10.0})  # the same row again (load.status)
    with path.open() as f:  # readable while the run goes
        assert [r["started"] for r in csv.DictReader(f)] == ["10"]
    stream.finish({"timeseries": [{"t": 1.0, "started": 10}, {"t": 2.0, "started": 20}]})
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [r["started"] for r in rows] == ["10", "20"]
    assert tuple(rows[0]) == CSV_COLUMNS


def _report(**over: Any) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(SAMPLE.read_text())
    report.update(over)
    return report


def test_the_charts_are_a_png_and_an_svg() -> None:
    data = png(_report())
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert svg(_report()).lstrip().startswith("<?xml")


def test_the_html_report_shows_the_verdict_and_escapes_what_peers_wrote() -> None:
    report = _report(failed_by_reason={"<script>alert(1)</script>": 2},
                     verdict={"passed": False, "checks": [
                         {"criterion": "failed calls", "value": "2 of 30", "limit": "<= 0%",
                          "passed": False}]})
    page = render(report)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "failed calls" in page and "FAIL" in page and "<svg" in page
    assert "INTERRUPTED" in render(_report(interrupted=True))
