"""The media objects an agent holds: tone generators, WAV players and WAV recorders, each a port
of the agent's conference bridge, known by a global id.

Ownership: ``AgentState.media`` holds the only reference to each pjsua2 object, so dropping the
entry destroys it (its bridge connections go with it). Every object must be gone before
``libDestroy``: a player or tone generator that outlives the Endpoint aborts the process when
it is collected (``drop_all``, called by the teardown and by a reset, before calls and accounts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from agent.objects import guarded
from agent.state import AgentState

#: Media objects one agent holds at most (each takes a conference bridge port).
MAX_MEDIA_OBJECTS = 16
#: What each kind can be in a bridge connection.
SOURCES = ("tone", "player")
SINKS = ("recorder",)
#: Clock rate and channels of the tone generators (the bridge resamples as needed).
TONE_CLOCK_RATE = 16000
#: A "continuous" tone: played this long, then looped with no gap.
CONTINUOUS_MS = 10000


class Player(pj.AudioMediaPlayer):  # type: ignore[misc]
    """A WAV player that reports each end of its file as a media.player_eof event."""

    def __init__(self, state: AgentState, gid: str, loop: bool) -> None:
        super().__init__()
        self.state = state
        self.gid = gid
        self.loop = loop

    @guarded
    def onEof2(self) -> None:
        self.state.emit("media.player_eof", self.gid, {"agent": self.state.name,
                                                       "loop": self.loop})


@dataclass
class MediaObject:
    """One media object: ``port`` is its pjsua2 AudioMedia (player, recorder or tone)."""

    gid: str
    kind: str
    port: Any
    #: the owning client (routing id in hex, CURVE key), kept for a restarted coordinator
    owner: str = ""
    owner_key: str = ""
    #: it outlives its owner's lease (media.create_* ``persistent``)
    persistent: bool = False

    @property
    def slot(self) -> int:
        return int(self.port.getPortId())


def make_tone(freq1: int, freq2: int, on_ms: int, off_ms: int) -> Any:
    """A started ToneGenerator playing the tone in a loop (``on_ms`` 0: continuous)."""
    gen = pj.ToneGenerator()
    gen.createToneGenerator(TONE_CLOCK_RATE, 1)
    desc = pj.ToneDesc()
    desc.freq1, desc.freq2 = freq1, freq2
    desc.on_msec, desc.off_msec = on_ms or CONTINUOUS_MS, off_ms
    tones = pj.ToneDescVector()
    tones.append(desc)
    gen.play(tones, True)
    return gen


def make_player(state: AgentState, gid: str, filename: str, loop: bool) -> Player:
    player = Player(state, gid, loop)
    player.createPlayer(filename, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
    return player


def make_recorder(filename: str) -> Any:
    rec = pj.AudioMediaRecorder()
    rec.createRecorder(filename)
    return rec


def drop_all(state: AgentState) -> None:
    """Destroy every media object (before calls, accounts and libDestroy). No reference may
    survive: this is a function of its own so that no loop variable keeps one alive."""
    for obj in state.media.values():
        if isinstance(obj.port, pj.ToneGenerator):
            obj.port.stop()
    state.media.clear()
