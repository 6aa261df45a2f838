"""The WAV analysis the media tests rely on finds a tone's frequency, and no tone in silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import audio


@pytest.mark.parametrize("freq", [440, 1000, 2600])
def test_dominant_frequency_of_a_written_tone(tmp_path: Path, freq: int) -> None:
    path = tmp_path / "t.wav"
    audio.write_tone(path, freq, 0.25, rate=8000)
    samples, rate = audio.read(path)
    assert rate == 8000 and len(samples) == 2000
    assert audio.dominant(samples, rate) == pytest.approx(freq, rel=0.03)
    assert audio.power(samples, rate, freq) > 1000 * audio.power(samples, rate, freq * 1.37)


def test_silence_has_no_power(tmp_path: Path) -> None:
    path = tmp_path / "s.wav"
    audio.write_tone(path, 1000, 0.1, rate=8000, amplitude=0.0)
    samples, rate = audio.read(path)
    assert audio.rms(samples) == 0 and audio.power(samples, rate, 1000) == 0
