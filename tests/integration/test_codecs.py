"""Codecs and sound devices on real agents: priorities decide what calls negotiate, a call with
no codec in common is refused (488, not a hang), fleet-wide priorities reach agents that join
later, and a sound device the build lacks is a clear error."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coordinator.client import Account, Error, Lib
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import hang_up


def _call_codec(alice: Account, bob: Account, answerer: Answerer) -> tuple[str, str]:
    """One answered call alice -> bob; the codec each side negotiated. Hung up after."""
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(answerer.recorders)
             and answerer.recorders[-1].reached("CONFIRMED"), 10, "both sides CONFIRMED")
    wait_for(lambda: bool(call.info(refresh=True).codec), 10, "a codec")
    codecs = call.info(refresh=True).codec, answerer.calls[-1].info(refresh=True).codec
    hang_up(call, out, answerer.recorders[-1])
    return codecs


def test_enum_codecs_lists_the_build(lib: Lib) -> None:
    for agent in lib.agents():
        codecs = {c.name: c for c in lib.enum_codecs(agent=agent["name"])}
        pcmu = codecs["PCMU/8000/1"]
        assert (pcmu.clock_rate, pcmu.channel_count) == (8000, 1) and pcmu.priority > 0
        assert codecs["G722/16000/1"].clock_rate == 16000
        assert all(0 <= c.priority <= 255 for c in codecs.values())
    assert [c.name for c in lib.enum_codecs()] == [c.name for c in lib.enum_codecs(
        agent=sorted(a["name"] for a in lib.agents())[0])]


def test_disabling_pcmu_on_the_callee_negotiates_pcma(lib: Lib) -> None:
    answerer = Answerer(codes=(200,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    assert alice.agent != bob.agent
    # fleet-wide: PCMU first, PCMA second (as the agents' --codecs default has them)
    assert lib.set_codec_priority("PCMU", 250) == ["PCMU/8000/1"]
    assert lib.set_codec_priority("PCMA", 240) == ["PCMA/8000/1"]
    assert _call_codec(alice, bob, answerer) == ("PCMU/8000", "PCMU/8000")
    assert lib.set_codec_priority("PCMU/8000/1", 0, agent=bob.agent) == ["PCMU/8000/1"]
    prio = {c.name: c.priority for c in lib.enum_codecs(agent=bob.agent)}
    assert prio["PCMU/8000/1"] == 0 and prio["PCMA/8000/1"] == 240
    assert {c.name: c.priority for c in lib.enum_codecs(agent=alice.agent)}["PCMU/8000/1"] == 250
    assert _call_codec(alice, bob, answerer) == ("PCMA/8000", "PCMA/8000")


def test_no_common_codec_is_refused_with_488(lib: Lib) -> None:
    answerer = Answerer(codes=(200,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    # alice offers PCMU alone; bob has PCMU disabled
    for c in lib.enum_codecs(agent=alice.agent):
        if not c.name.startswith("PCMU/") and c.priority:
            lib.set_codec_priority(c.name, 0, agent=alice.agent)
    lib.set_codec_priority("PCMU", 0, agent=bob.agent)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.last() == "DISCONNECTED", 15, "the call to be refused")
    assert call.info().last_code == 488, out.states
    assert not out.reached("CONFIRMED")


def test_fleet_wide_priority_reaches_an_agent_that_joins_later(lib: Lib) -> None:
    assert lib.set_codec_priority("GSM", 0) == ["GSM/8000/1"]
    for agent in lib.agents():
        assert {c.name: c.priority for c in lib.enum_codecs(agent=agent["name"])}[
            "GSM/8000/1"] == 0
    assert lib.fleet is not None
    late = subprocess.Popen([sys.executable, "-m", "agent", "--coordinator",
                             lib.fleet.agents_url, "--name", "late-agent"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: any(a["name"] == "late-agent" for a in lib.agents()), 20,
                 "the late agent to join")
        wait_for(lambda: {c.name: c.priority for c in lib.enum_codecs(agent="late-agent")}[
            "GSM/8000/1"] == 0, 10, "the fleet's priority on the late agent")
    finally:
        late.terminate()
        _, err = late.communicate(timeout=30)
    assert late.returncode == 0, err


def test_bad_codec_requests_get_clear_errors(lib: Lib) -> None:
    def code(*args: object, **kwargs: object) -> str:
        with pytest.raises(Error) as exc:
            lib.set_codec_priority(*args, **kwargs)  # type: ignore[arg-type]
        return exc.value.err_code

    assert code("NoSuchCodec", 10) == "E_NOT_FOUND"
    assert code("NoSuchCodec", 10, agent=lib.agents()[0]["name"]) == "E_NOT_FOUND"
    assert code("PCMU", 256) == "E_BAD_ARGS"
    assert code("PCMU", -1) == "E_BAD_ARGS"
    assert code("PCMU", 10, agent="no-such-agent") == "E_NOT_FOUND"
    with pytest.raises(Error) as exc:
        lib.enum_codecs(agent="no-such-agent")
    assert exc.value.err_code == "E_NOT_FOUND"


def test_sound_devices_of_the_wheel(lib: Lib) -> None:
    """The pjsua2-python wheel is built without sound devices: the null device runs media."""
    for agent in lib.agents():
        r = lib.request("lib.enum_snd_dev", {"agent": agent["name"]})
        assert r == {"agent": agent["name"], "devices": [], "audio": "null"}
    assert lib.enum_snd_dev() == []


def test_absent_sound_device_stops_the_agent_with_a_clear_message() -> None:
    proc = subprocess.run([sys.executable, "-m", "agent", "--coordinator", "tcp://127.0.0.1:9",
                           "--name", "no-mic", "--audio", "Built-in Microphone"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "no sound device 'Built-in Microphone' in this build" in proc.stderr
    assert "Traceback" not in proc.stderr and "Assertion" not in proc.stderr
