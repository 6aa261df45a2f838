"""The PNG chart: a valid PNG of the expected size whose pixels show the three series."""

from __future__ import annotations

import struct
import zlib

from coordinator.cli.plot import COLOURS, PANEL_H, WIDTH, chart


def _decode(png: bytes) -> tuple[int, int, bytes]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        if kind == b"IHDR":
            size = struct.unpack(">II", data[:8])
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def test_chart_is_a_valid_png_with_all_three_series() -> None:
    rows = [{"t": float(i), "rate": float(i), "active": i % 5, "setup_p95_ms": 2.0 + i % 3}
            for i in range(20)]
    w, h, raw = _decode(chart(rows))
    assert (w, h) == (WIDTH, 3 * PANEL_H)
    assert len(raw) == h * (1 + 3 * w)
    pixels = {bytes(raw[i:i + 3]) for y in range(h) for i in range(y * (1 + 3 * w) + 1,
                                                                    (y + 1) * (1 + 3 * w), 3)}
    for colour in COLOURS:
        assert bytes(colour) in pixels


def test_chart_of_an_empty_run_still_renders() -> None:
    w, h, _ = _decode(chart([]))
    assert (w, h) == (WIDTH, 3 * PANEL_H)
