"""The codecs an agent offers first (``--codecs``): G.711 by default, another order when asked,
and a clear refusal of a codec the PJSIP build lacks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from coordinator.client import Lib
from tests.ua_helpers import connected_pair, hang_up


def _codec_of_a_call(lib: Lib) -> str:
    call, out, incoming, inn = connected_pair(lib)
    try:
        return call.info(refresh=True).codec
    finally:
        hang_up(call, out, inn)


def test_calls_between_default_agents_use_g711(lib: Lib) -> None:
    assert _codec_of_a_call(lib).startswith("PCMU/8000")


@pytest.fixture
def speex_lib() -> Iterator[Lib]:
    lib = Lib.start_local(agents=2, agent_args=["--codecs", "speex/16000,PCMU"])
    try:
        yield lib
    finally:
        lib.destroy()
    assert set(lib.exit_codes.values()) == {0}, lib.exit_codes


def test_agents_offer_the_codecs_they_are_told_first(speex_lib: Lib) -> None:
    assert _codec_of_a_call(speex_lib).startswith("speex/16000")


def test_an_absent_codec_stops_the_agent_with_a_clear_message() -> None:
    proc = subprocess.run([sys.executable, "-m", "agent", "--coordinator", "tcp://127.0.0.1:9",
                           "--codecs", "opus"], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert "no codec 'opus'" in proc.stderr and "PCMU/8000/1" in proc.stderr
