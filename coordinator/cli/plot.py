"""A PNG chart of a load run (rate, concurrency, setup time over time), drawn with the standard
library only: a small raster, a 5x7 font, zlib. Pure: rows in, PNG bytes out."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from typing import Any

_FONT = {  # 5x7 glyphs, one string of 5 pixels per row
    "0": ["01110", "10001", "10011", "10101", "11001", "10001", "01110"],
    "1": ["00100", "01100", "00100", "00100", "00100", "00100", "01110"],
    "2": ["01110", "10001", "00001", "00010", "00100", "01000", "11111"],
    "3": ["11110", "00001", "00001", "01110", "00001", "00001", "11110"],
    "4": ["00010", "00110", "01010", "10010", "11111", "00010", "00010"],
    "5": ["11111", "10000", "11110", "00001", "00001", "10001", "01110"],
    "6": ["00110", "01000", "10000", "11110", "10001", "10001", "01110"],
    "7": ["11111", "00001", "00010", "00100", "01000", "01000", "01000"],
    "8": ["01110", "10001", "10001", "01110", "10001", "10001", "01110"],
    "9": ["01110", "10001", "10001", "01111", "00001", "00010", "01100"],
    ".": ["00000", "00000", "00000", "00000", "00000", "01100", "01100"],
    "/": ["00001", "00010", "00010", "00100", "01000", "01000", "10000"],
    ":": ["00000", "01100", "01100", "00000", "01100", "01100", "00000"],
    "-": ["00000", "00000", "00000", "11111", "00000", "00000", "00000"],
    " ": ["00000"] * 7,
    "A": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "C": ["01110", "10001", "10000", "10000", "10000", "10001", "01110"],
    "E": ["11111", "10000", "10000", "11110", "10000", "10000", "11111"],
    "I": ["01110", "00100", "00100", "00100", "00100", "00100", "01110"],
    "L": ["10000", "10000", "10000", "10000", "10000", "10000", "11111"],
    "M": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "N": ["10001", "11001", "10101", "10011", "10001", "10001", "10001"],
    "O": ["01110", "10001", "10001", "10001", "10001", "10001", "01110"],
    "P": ["11110", "10001", "10001", "11110", "10000", "10000", "10000"],
    "R": ["11110", "10001", "10001", "11110", "10100", "10010", "10001"],
    "S": ["01111", "10000", "10000", "01110", "00001", "00001", "11110"],
    "T": ["11111", "00100", "00100", "00100", "00100", "00100", "00100"],
    "U": ["10001", "10001", "10001", "10001", "10001", "10001", "01110"],
    "X": ["10001", "10001", "01010", "00100", "01010", "10001", "10001"],
}

WIDTH, PANEL_H, MARGIN = 900, 200, 40
INK, GRID, BG = (30, 30, 30), (215, 215, 215), (255, 255, 255)
COLOURS = ((31, 119, 180), (44, 160, 44), (214, 39, 40))


class _Canvas:
    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.px = bytearray(bytes(BG) * (w * h))

    def dot(self, x: int, y: int, c: tuple[int, int, int]) -> None:
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            self.px[i:i + 3] = bytes(c)

    def line(self, x0: int, y0: int, x1: int, y1: int, c: tuple[int, int, int]) -> None:
        n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for k in range(n + 1):
            self.dot(round(x0 + (x1 - x0) * k / n), round(y0 + (y1 - y0) * k / n), c)

    def text(self, x: int, y: int, s: str, c: tuple[int, int, int] = INK) -> None:
        for ch in s.upper():
            for r, row in enumerate(_FONT.get(ch, _FONT[" "])):
                for col, bit in enumerate(row):
                    if bit == "1":
                        self.dot(x + col, y + r, c)
            x += 6

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(self.px[3 * y * self.w: 3 * (y + 1) * self.w])
                       for y in range(self.h))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return (struct.pack(">I", len(data)) + kind + data
                    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2,
                                                                  0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def chart(rows: Sequence[dict[str, Any]]) -> bytes:
    """Three panels over the run's seconds: calls/s, calls up, setup p95 (ms)."""
    series = (("RATE CALLS/S", "rate"), ("CALLS UP", "active"), ("SETUP P95 MS", "setup_p95_ms"))
    c = _Canvas(WIDTH, PANEL_H * len(series))
    t_max = max((float(r["t"]) for r in rows), default=1.0) or 1.0
    for k, (title, key) in enumerate(series):
        top, bottom = k * PANEL_H + 20, (k + 1) * PANEL_H - 20
        left, right = MARGIN + 20, WIDTH - 20
        values = [float(r.get(key, 0.0)) for r in rows]
        v_max = max(values, default=0.0) or 1.0
        for y in (top, (top + bottom) // 2, bottom):
            c.line(left, y, right, y, GRID)
        c.line(left, top, left, bottom, INK)
        c.line(left, bottom, right, bottom, INK)
        c.text(left + 6, top - 12, f"{title}   MAX {_fmt(v_max)}")
        c.text(4, top - 3, _fmt(v_max))
        c.text(4, bottom - 3, "0")
        c.text(right - 60, bottom + 6, f"{_fmt(t_max)} S")
        points = [(left + round((right - left) * float(r["t"]) / t_max),
                   bottom - round((bottom - top) * v / v_max)) for r, v in zip(rows, values, strict=True)]
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            c.line(x0, y0, x1, y1, COLOURS[k])
            c.line(x0, y0 + 1, x1, y1 + 1, COLOURS[k])
    return c.png()
