"""WAV files for the media tests: write a tone, read samples back, find the dominant frequency
(Goertzel, pure Python)."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path


def write_tone(path: Path, freq: float, seconds: float, rate: int = 16000,
               amplitude: float = 0.5) -> None:
    """A 16-bit PCM mono WAV of a sine tone."""
    n = int(seconds * rate)
    peak = amplitude * 32767
    frames = struct.pack(f"<{n}h", *(int(peak * math.sin(2 * math.pi * freq * i / rate))
                                     for i in range(n)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def read(path: Path) -> tuple[list[int], int]:
    """(samples, sample rate) of a 16-bit PCM mono WAV."""
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1, (w.getsampwidth(), w.getnchannels())
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return list(struct.unpack(f"<{len(raw) // 2}h", raw)), rate


def power(samples: list[int], rate: int, freq: float) -> float:
    """Goertzel: the signal's power at ``freq``, normalised by the number of samples."""
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / max(1, len(samples)) ** 2


def dominant(samples: list[int], rate: int, lo: float = 100, hi: float = 3500,
             step: float = 25) -> float:
    """The frequency between ``lo`` and ``hi`` (every ``step`` Hz) with the most power."""
    freqs = [lo + step * k for k in range(int((hi - lo) / step) + 1)]
    return max(freqs, key=lambda f: power(samples, rate, f))


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(x * x for x in samples) / max(1, len(samples)))


def complete(path: Path) -> bool:
    """Whether a WAV file's header accounts for the whole file (PJSIP writes the sizes when it
    closes the file: on the bridge's next clock tick after the recorder is destroyed)."""
    raw = path.read_bytes()
    return len(raw) >= 44 and raw[:4] == b"RIFF" and int.from_bytes(raw[4:8], "little") == \
        len(raw) - 8
