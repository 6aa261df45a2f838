"""Media objects on agents with real calls between real agents: a tone and a WAV player sent
into a call are recorded at the far end and their frequency found in the recording; two calls
bridged on one agent carry audio through; every bad request gets a clear error."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from coordinator.client import Call, Error, Lib
from tests import audio
from tests.helpers import Answerer, Recorder, wait_for
from tests.ua_helpers import connected_pair, hang_up

#: the bridge's clock rate with pjsua's defaults (16-bit mono samples)
BYTES_PER_S = 16000 * 2


def record(lib: Lib, call: Call, path: Path, seconds: float) -> tuple[list[int], int]:
    """Record ``seconds`` of what ``call`` receives (at its agent) and return the samples."""
    rec = lib.create_recorder(str(path), call=call.id)
    lib.conf_connect(call.info().conf_slot, lib.recorder_get_slot(rec))
    wait_for(lambda: path.exists() and path.stat().st_size > seconds * BYTES_PER_S, 20,
             f"{seconds} s recorded")
    lib.recorder_destroy(rec)
    wait_for(lambda: audio.complete(path), 10, "the recorder to close its file")
    return audio.read(path)


def _steady(samples: list[int], rate: int) -> list[int]:
    """The recording without its first 200 ms (jitter buffer filling, codec start)."""
    return samples[rate // 5:]


def test_tone_into_a_call_is_heard_at_the_far_end_and_silence_is_not(lib: Lib,
                                                                     tmp_path: Path) -> None:
    call, out, bob_call, inn = connected_pair(lib)
    assert call.agent != bob_call.agent
    quiet, rate = record(lib, bob_call, tmp_path / "quiet.wav", 1.0)
    tone = lib.create_tone(1000, call=call.id)
    placed = lib.conf_connect(tone, call.info().conf_slot)
    assert placed["agent"] == call.agent and placed["src_slot"] != placed["dst_slot"]
    heard, rate2 = record(lib, bob_call, tmp_path / "tone.wav", 1.0)
    assert rate == rate2
    heard, quiet = _steady(heard, rate), _steady(quiet, rate)
    assert audio.dominant(heard, rate) == pytest.approx(1000, rel=0.05)
    assert audio.rms(heard) > 1000
    # no tone before the generator was connected: not even a trace of it
    assert audio.power(quiet, rate, 1000) < audio.power(heard, rate, 1000) / 1000
    lib.tone_destroy(tone)
    hang_up(call, out, inn)


def test_wav_player_once_reports_its_end_and_is_heard(lib: Lib, tmp_path: Path) -> None:
    wav = tmp_path / "600.wav"
    audio.write_tone(wav, 600, 1.5, rate=8000)
    call, out, bob_call, inn = connected_pair(lib)
    ends: list[str] = []
    ended = threading.Event()

    def on_eof(player_id: str) -> None:
        ends.append(player_id)
        ended.set()

    player = lib.create_player(str(wav), call=call.id, on_eof=on_eof)
    assert player.startswith(call.agent + "/player-")
    lib.conf_connect(lib.player_get_slot(player), call.info().conf_slot)
    heard, rate = record(lib, bob_call, tmp_path / "heard.wav", 1.0)
    assert audio.dominant(_steady(heard, rate), rate) == pytest.approx(600, rel=0.05)
    assert ended.wait(20), "no end-of-file event"
    assert ends == [player]
    lib.player_set_pos(player, 0)  # rewind: a played-out player can start again
    lib.player_destroy(player)
    with pytest.raises(Error) as exc:
        lib.player_destroy(player)
    assert exc.value.err_code == "E_NOT_FOUND"
    hang_up(call, out, inn)


def test_looping_player_reports_every_end(lib: Lib, tmp_path: Path) -> None:
    wav = tmp_path / "short.wav"
    audio.write_tone(wav, 800, 0.2, rate=8000)
    agent = lib.agents()[0]["name"]
    ends: list[str] = []
    player = lib.create_player(str(wav), loop=True, agent=agent, on_eof=ends.append)
    # the bridge pulls frames only from connected ports: a player plays into something
    rec = lib.create_recorder(str(tmp_path / "loop.wav"), agent=agent)
    lib.conf_connect(player, rec)
    wait_for(lambda: len(ends) >= 3, 20, "three ends of a looping player")
    assert set(ends) == {player}
    lib.player_destroy(player)
    lib.recorder_destroy(rec)
    wait_for(lambda: audio.complete(tmp_path / "loop.wav"), 10, "the recorder to close its file")
    samples, rate = audio.read(tmp_path / "loop.wav")
    assert len(samples) >= 3 * 0.2 * rate  # three rounds of the 0.2 s file, at least
    assert audio.dominant(samples, rate) == pytest.approx(800, rel=0.05)


def test_two_calls_bridged_on_one_agent_carry_audio(lib3: Lib, tmp_path: Path) -> None:
    """alice -> carol <- bob, carol's agent bridges both calls (a 3-way conference): a tone
    alice sends reaches bob's recording."""
    lib = lib3
    carol_cb = Answerer(codes=(200,))
    carol = lib.create_account("sip:carol@127.0.0.1", cb=carol_cb)
    bob_cb = Answerer(codes=(200,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=bob_cb)
    assert len({carol.agent, alice.agent, bob.agent}) == 3
    a_out, b_out = Recorder(), Recorder()
    a_call = alice.make_call(carol.contact, cb=a_out)
    b_call = bob.make_call(carol.contact, cb=b_out)
    wait_for(lambda: len(carol_cb.calls) == 2 and all(r.reached("CONFIRMED")
                                                      for r in (a_out, b_out)), 15,
             "both calls answered by carol")
    wait_for(lambda: all(r.media and r.media[-1] == "ACTIVE"
                         for r in (a_out, b_out, *carol_cb.recorders)), 10, "media ACTIVE")
    c1, c2 = carol_cb.calls
    assert c1.agent == c2.agent == carol.agent
    # the two calls' audio meet only on carol's agent
    with pytest.raises(Error) as exc:
        lib.conf_connect(a_call.info().conf_slot, b_call.info().conf_slot)
    assert exc.value.err_code == "E_CROSS_AGENT"
    lib.conf_connect(c1.info().conf_slot, c2.info().conf_slot)
    lib.conf_connect(c2.info().conf_slot, c1.info().conf_slot)
    tone = lib.create_tone(1000, agent=alice.agent)
    lib.conf_connect(tone, a_call.info().conf_slot)
    heard, rate = record(lib, b_call, tmp_path / "bridged.wav", 1.0)
    assert audio.dominant(_steady(heard, rate), rate) == pytest.approx(1000, rel=0.05)
    # unbridged: bob hears nothing of alice's tone any more
    lib.conf_disconnect(c1.info().conf_slot, c2.info().conf_slot)
    # (what was in flight at the cut, two jitter buffers deep, may take more than the 200 ms
    # that _steady skips to drain on a busy machine: the last second of 1.5 s is compared)
    cut, rate = record(lib, b_call, tmp_path / "cut.wav", 1.5)
    assert audio.power(cut[-rate:], rate, 1000) < \
        audio.power(_steady(heard, rate), rate, 1000) / 1000
    for c, r in ((a_call, a_out), (b_call, b_out)):
        hang_up(c, r)


def _code(fn: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(Error) as exc:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert exc.value.err_msg
    return exc.value.err_code


def test_bad_media_requests_get_clear_errors(lib: Lib, tmp_path: Path) -> None:
    agent = lib.agents()[0]["name"]
    wav = tmp_path / "ok.wav"
    audio.write_tone(wav, 500, 0.2)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav file at all" * 10)
    assert _code(lib.create_player, str(tmp_path / "absent.wav"), agent=agent) == "E_NOT_FOUND"
    assert _code(lib.create_player, "relative.wav", agent=agent) == "E_BAD_ARGS"
    assert _code(lib.create_player, str(tmp_path / "x.mp3"), agent=agent) == "E_BAD_ARGS"
    assert _code(lib.create_player, str(junk), agent=agent) == "E_PJSIP"
    assert _code(lib.create_player, str(wav)) == "E_BAD_ARGS"  # no agent, no call
    assert _code(lib.create_player, str(wav), agent="no-such-agent") == "E_NOT_FOUND"
    assert _code(lib.create_player, str(wav), call="no-such-call") == "E_NOT_FOUND"
    assert _code(lib.create_recorder, str(tmp_path / "nodir" / "r.wav"), agent=agent) == \
        "E_NOT_FOUND"
    assert _code(lib.create_recorder, str(tmp_path), agent=agent) == "E_BAD_ARGS"
    player = lib.create_player(str(wav), agent=agent)
    rec = lib.create_recorder(str(tmp_path / "r.wav"), agent=agent)
    tone = lib.create_tone(700, agent=agent)
    assert _code(lib.conf_connect, rec, player) == "E_BAD_ARGS"  # a recorder is no source
    assert _code(lib.conf_connect, player, tone) == "E_BAD_ARGS"  # a tone is no sink
    assert _code(lib.conf_connect, player, player) == "E_BAD_ARGS"
    assert _code(lib.conf_connect, player, "c-nothing") == "E_NOT_FOUND"
    assert _code(lib.player_set_pos, tone, 0) == "E_BAD_ARGS"
    assert _code(lib.request, "media.create_tone", {"agent": agent, "freq1": 0}) == "E_BAD_ARGS"
    assert lib.conf_connect(player, rec)["agent"] == agent
    lib.conf_disconnect(player, rec)
    # the budget: as many objects as the agent has bridge ports for, then a clear refusal
    made = [tone]
    with pytest.raises(Error) as exc:
        for _ in range(64):
            made.append(lib.create_tone(300, agent=agent))
    assert exc.value.err_code == "E_NO_CAPACITY"
    assert len(made) + 2 == 16  # with the player and the recorder
    for gid in made:
        lib.tone_destroy(gid)
    lib.player_destroy(player)
    lib.recorder_destroy(rec)
    wait_for(lambda: audio.complete(tmp_path / "r.wav"), 10, "the recorder to close its file")
    _, rate = audio.read(tmp_path / "r.wav")  # a whole 16-bit mono WAV, whatever it holds
    assert rate == 16000


def test_media_objects_alive_at_shutdown_are_destroyed_in_order(tmp_path: Path) -> None:
    """Objects still connected to a live call when the fleet stops: every agent exits 0 (a
    player or tone outliving the Endpoint would abort it)."""
    wav = tmp_path / "loop.wav"
    audio.write_tone(wav, 900, 0.3)
    lib = Lib.start_local(agents=2)
    try:
        call, _, bob_call, _ = connected_pair(lib)
        player = lib.create_player(str(wav), loop=True, call=call.id)
        lib.conf_connect(player, call.info().conf_slot)
        lib.conf_connect(lib.create_tone(1200, call=call.id), call.info().conf_slot)
        lib.conf_connect(bob_call.info().conf_slot,
                         lib.create_recorder(str(tmp_path / "left.wav"), call=bob_call.id))
    finally:
        lib.destroy()
    assert lib.exit_codes and set(lib.exit_codes.values()) == {0}, lib.exit_codes
    assert audio.complete(tmp_path / "left.wav")  # the recorder was closed properly


def test_agent_without_audio_clock_refuses_media(tmp_path: Path) -> None:
    lib = Lib.start_local(agents=1, agent_args=["--audio", "none"])
    try:
        agent = lib.agents()[0]["name"]
        assert _code(lib.create_tone, 1000, agent=agent) == "E_WRONG_STATE"
    finally:
        lib.destroy()
    assert set(lib.exit_codes.values()) == {0}, lib.exit_codes
