"""agent.framing: RFC 3261 18.3's Content-Length rule for requests received over UDP."""

from __future__ import annotations

import pytest

from agent.framing import framing_error

BODY = "v=0\r\ns=-\r\n"  # 10 bytes


def _msg(*headers: str, body: str = BODY) -> str:
    return "INVITE sip:bob@127.0.0.1 SIP/2.0\r\n" + "".join(h + "\r\n" for h in headers) + \
        "\r\n" + body


@pytest.mark.parametrize("headers", [("Content-Length: 10",), ("content-length:10",),
                                     ("l: 10",), ("Content-Length: 4",), ("Content-Length: 0",),
                                     ("Subject: no length",)])
def test_well_framed_or_longer_than_declared_is_fine(headers: tuple[str, ...]) -> None:
    assert framing_error(_msg(*headers)) == ""


def test_a_body_shorter_than_declared_is_refused() -> None:
    assert framing_error(_msg("Content-Length: 11")) == (
        "Content-Length 11 exceeds the 10 bytes of body received")
    assert "exceeds" in framing_error(_msg("l:  999 "))
    assert "exceeds" in framing_error(_msg("Content-Length: 1", body=""))


def test_bytes_are_counted_not_characters() -> None:
    assert framing_error(_msg("Content-Length: 3", body="é")) == (
        "Content-Length 3 exceeds the 2 bytes of body received")


@pytest.mark.parametrize("headers,why", [
    (("Content-Length: ten",), "is not a number"),
    (("Content-Length: 10", "l: 12"), "conflicting"),
])
def test_malformed_lengths_are_refused(headers: tuple[str, ...], why: str) -> None:
    assert why in framing_error(_msg(*headers))


def test_no_header_block_end_is_left_to_pjsip() -> None:
    assert framing_error("INVITE sip:bob@127.0.0.1 SIP/2.0\r\nContent-Length: 99") == ""
