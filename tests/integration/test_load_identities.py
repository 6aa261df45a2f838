"""Load runs with several calling identities, registered identities (a real Kamailio as
registrar and proxy, credentials from a CSV file), and what the calls send (a tone heard at the
far end, a looped WAV). Every agent's exit status is checked by the fixtures (no abort)."""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import Error, Lib
from coordinator.client.scenarios import read
from tests.helpers import free_udp_port, start_sipp, step_lines, stop
from tests.kamailio import PASSWORD, Kamailio


def _users(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}" for i in range(1, n + 1)]


def test_several_callers_send_a_tone_that_the_far_end_hears(lib: Lib) -> None:
    report = lib.run_load({"rate": 6, "calls": 12, "hold": "1", "self": True, "callers": 3,
                           "media": "tone"}, timeout=60)
    assert (report["attempted"], report["answered"], report["failed"]) == (12, 12, 0)
    # the end that hangs up (the caller) heard the callee's tone on every call
    assert report["tone"] == {"heard": 12, "missed": 0, "unchecked": 0}
    assert report["media"]["calls_measured"] == 12 and report["media"]["loss_pct"] < 0.5
    assert report["success"] is True
    assert lib.status()["accounts"] == 0


def test_a_far_end_that_sends_no_audio_is_reported_as_missed(lib: Lib, tmp_path: Path) -> None:
    # SIPp's built-in uas answers and sends no RTP: the tone check must fail on every call
    port = free_udp_port()
    uas = start_sipp(["-sn", "uas", "-p", str(port), "-m", "4"], tmp_path)
    try:
        report = lib.run_load({"rate": 4, "calls": 4, "hold": "1", "media": "tone",
                               "targets": [f"sip:quiet@127.0.0.1:{port}"]}, timeout=60)
    finally:
        stop(uas)
    assert report["answered"] == 4
    assert report["tone"] == {"heard": 0, "missed": 4, "unchecked": 0}
    assert report["success"] is False


def _tone_wav(path: Path, seconds: float = 1.0) -> None:
    rate = 8000
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                      for i in range(int(rate * seconds)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def test_a_looped_wav_feeds_the_calls_and_a_missing_one_is_refused(lib: Lib,
                                                                   tmp_path: Path) -> None:
    wav = tmp_path / "prompt.wav"
    _tone_wav(wav)
    report = lib.run_load({"rate": 4, "calls": 4, "hold": "1.5", "self": True,
                           "media": f"wav:{wav}"}, timeout=60)
    assert (report["answered"], report["failed"]) == (4, 0)
    assert report["media"]["calls_measured"] == 4 and report["media"]["loss_pct"] < 0.5

    with pytest.raises(Error) as err:
        lib.run_load({"rate": 4, "calls": 4, "self": True,
                      "media": f"wav:{tmp_path / 'absent.wav'}"}, timeout=30)
    assert err.value.err_code == "E_BAD_ARGS" and "absent.wav" in err.value.err_msg
    assert lib.status()["accounts"] == 0  # nothing was left half made


def test_more_callers_than_the_fleet_holds_is_refused(lib: Lib) -> None:
    with pytest.raises(Error) as err:
        lib.run_load({"rate": 4, "calls": 4, "self": True, "callers": 40}, timeout=30)
    assert err.value.err_code == "E_NO_CAPACITY" and "callers" in err.value.err_msg
    assert lib.status()["accounts"] == 0


def test_registered_identities_call_through_kamailio(kam: Kamailio, lib: Lib) -> None:
    users = _users("load", 6)  # 4 callers, then one answering identity on each of 2 agents
    progress: list[dict[str, Any]] = []
    report = lib.run_load({"rate": 8, "calls": 16, "hold": "0.5", "self": True, "callers": 4,
                           "registrar": kam.uri,
                           "credentials": [{"user": u, "password": PASSWORD} for u in users]},
                          on_progress=progress.append, timeout=90)
    assert (report["attempted"], report["answered"], report["failed"]) == (16, 16, 0)
    assert report["registration"] == {"identities": 6, "registered": 6, "failed_by_code": {}}
    assert report["success"] is True
    for user in users:  # digest: a challenged REGISTER, then one with credentials
        assert kam.requests("REGISTER", user) >= 2, user
    # every call went through the proxy, from a caller identity to an answering identity
    assert sum(kam.requests("INVITE", u) for u in users[:4]) == 16
    assert PASSWORD not in json.dumps(report) and PASSWORD not in json.dumps(progress)
    assert report["profile"]["credentials"] == 6
    assert lib.status()["accounts"] == 0


def test_a_scenario_run_of_registered_identities_through_kamailio(kam: Kamailio,
                                                                  lib: Lib) -> None:
    """proto/scenarios/registered.yaml: every identity registers, then each call rings, sends
    a digit by INFO and a message, through Kamailio; each step counted on both legs."""
    flow = read(str(Path(__file__).parents[2] / "proto" / "scenarios" / "registered.yaml"))
    users = _users("desk", 4)  # 2 callers, then one answering identity on each of 2 agents
    report = lib.run_load({"rate": 4, "calls": 8, "self": True, "callers": 2,
                           "registrar": kam.uri, "scenario": flow,
                           "credentials": [{"user": u, "password": PASSWORD} for u in users]},
                          timeout=90)
    assert (report["attempted"], report["answered"], report["failed"]) == (8, 8, 0), report
    assert report["registration"] == {"identities": 4, "registered": 4, "failed_by_code": {}}
    for user in users:
        assert kam.requests("REGISTER", user) >= 2, user
    assert sum(kam.requests("INVITE", u) for u in users[:2]) == 8
    steps = {(s["leg"], s["step"]): s for s in report["steps"]}
    assert all((s["ok"], s["failed"]) == (8, 0) for s in steps.values()), step_lines(steps)
    assert report["dtmf"] == {"digits": "", "verified": 8, "missed": 0}
    assert report["success"] is True


def test_a_registrar_run_with_srtp_through_kamailio(kam: Kamailio, lib: Lib) -> None:
    """--srtp mandatory: every INVITE Kamailio relays offers RTP/SAVP (its own count), every
    call is answered and its media flows (SRTP both ways, measured by the agents)."""
    users = _users("srtp", 4)  # 2 callers, then one answering identity on each of 2 agents
    report = lib.run_load({"rate": 4, "calls": 8, "hold": "1", "self": True, "callers": 2,
                           "registrar": kam.uri, "use_srtp": "mandatory", "srtp_keying": "sdes",
                           "credentials": [{"user": u, "password": PASSWORD} for u in users]},
                          timeout=90)
    assert (report["attempted"], report["answered"], report["failed"]) == (8, 8, 0), report
    assert sum(kam.requests("INVITE", u) for u in users[:2]) == 8
    assert sum(kam.requests("INVITE", u, tag="CF-SAVP") for u in users[:2]) == 8
    assert report["media"]["rtp_packets"] > 0 and report["media"]["rtp_lost"] == 0
    assert report["profile"]["session"] == {"use_srtp": "mandatory", "srtp_keying": "sdes"}


def test_a_registrar_run_with_100rel_through_kamailio(kam: Kamailio, lib: Lib) -> None:
    """--100rel mandatory and a ring time: each callee's 180 is reliable, so Kamailio relays
    one PRACK per call."""
    users = _users("prack", 4)
    report = lib.run_load({"rate": 4, "calls": 8, "hold": "0.5", "self": True, "callers": 2,
                           "answer_delay": 0.3, "registrar": kam.uri,
                           "require_100rel": "mandatory",
                           "credentials": [{"user": u, "password": PASSWORD} for u in users]},
                          timeout=90)
    assert (report["attempted"], report["answered"], report["failed"]) == (8, 8, 0), report
    assert sum(kam.requests("INVITE", u) for u in users[:2]) == 8
    assert sum(kam.requests("PRACK", u) for u in users[:2]) == 8


def test_a_wrong_password_ends_the_run_before_any_call(kam: Kamailio, lib: Lib) -> None:
    report = lib.run_load({"rate": 4, "calls": 8, "self": True, "registrar": kam.uri,
                           "credentials": [{"user": u, "password": "wrong"}
                                           for u in _users("bad", 4)]}, timeout=60)
    assert report["attempted"] == 0 and report["success"] is False
    # the run ends at the first failure reported: agents whose answer was still on the way
    # are not counted
    failed = report["registration"]["failed_by_code"]
    assert set(failed) == {"401"} and 1 <= failed["401"] <= 4, failed
    assert report["end_reason"].startswith("registration failed")
    assert kam.requests("INVITE", "bad1") == 0
    assert lib.status()["accounts"] == 0


def test_cli_reads_credentials_from_a_csv_file(kam: Kamailio, tmp_path: Path) -> None:
    creds = tmp_path / "users.csv"
    creds.write_text("user,password\n" + "".join(f"cli{i},{PASSWORD}\n" for i in range(1, 5)))
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "coordinator.cli", "load", "--self", "-r", "4", "-m", "8",
         "-d", "0.5", "--embedded", "--agents", "2", "--callers", "2", "--registrar", kam.uri,
         "--credentials", str(creds), "--report", str(out)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "registration   4 of 4 identities registered" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr + out.read_text()
    report = json.loads(out.read_text())
    assert report["answered"] == 8
    bad = subprocess.run(
        [sys.executable, "-m", "coordinator.cli", "load", "--self", "-m", "1", "--registrar",
         kam.uri, "--credentials", str(tmp_path / "none.csv")],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode == 2 and "none.csv" in bad.stderr
