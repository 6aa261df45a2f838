"""Media objects of an agent's conference bridge (tone generators, WAV players and recorders)
and bridge connections."""

from __future__ import annotations

from proto.ops.fields import AGENT, ID, OWNER, PERSISTENT
from proto.ops.spec import EventSpec, OpSpec, grouped
from proto.schema import Field

MEDIA_ID = Field("media", "str", True, "media object id (player, recorder or tone generator)",
                 lo=1, hi=ID)

#: Longest WAV file path (on the agent's host) a player or recorder accepts.
MAX_PATH = 1024

MEDIA_PLACE = (
    Field("agent", "str", False, "the agent that holds the object (give this or call)",
          lo=1, hi=ID),
    Field("call", "str", False, "put the object on the agent holding this call", lo=1, hi=ID),
    PERSISTENT,
)

MEDIA_MADE = (MEDIA_ID, AGENT, Field("slot", "int", True, "its port in the agent's conference "
                                      "bridge (meaningful on that agent only)", lo=0))

WAV = Field("filename", "str", True, "absolute path of a .wav file on the agent's host",
             lo=1, hi=MAX_PATH)

#: a media object or a call: an end of a conference bridge connection
CONF_ENDS = (
    Field("src", "str", True, "id of the source: a call, a player or a tone generator",
          lo=1, hi=ID),
    Field("dst", "str", True, "id of the sink: a call or a recorder", lo=1, hi=ID),
)

CONF_PORTS = (AGENT, Field("src_slot", "int", True, "the source's bridge port", lo=0),
               Field("dst_slot", "int", True, "the sink's bridge port", lo=0))


OPS = grouped("media", (
    OpSpec("media.create_tone", "agent",
           "Create a tone generator (pjsua2 ToneGenerator) on an agent, playing a dual-frequency "
           "tone at once and until destroyed; connect it with media.conf_connect.",
           args=(*MEDIA_PLACE,
                 Field("freq1", "int", True, "first frequency, Hz", lo=1, hi=8000),
                 Field("freq2", "int", False, "second frequency, Hz (default 0: none)",
                       lo=0, hi=8000),
                 Field("on_ms", "int", False, "tone on, ms (default 0: continuous)",
                       lo=0, hi=60000),
                 Field("off_ms", "int", False, "silence after each tone, ms (default 0)",
                       lo=0, hi=60000)),
           result=MEDIA_MADE, agent_args=OWNER,
           owns=("call",)),
    OpSpec("media.create_player", "agent",
           "Create a WAV file player on an agent (16-bit PCM mono WAV). Without loop it plays the "
           "file once; at its end (each end, with loop) comes a media.player_eof event.",
           args=(*MEDIA_PLACE, WAV,
                 Field("loop", "bool", False, "start again at the end (default false)")),
           result=MEDIA_MADE, agent_args=OWNER,
           owns=("call",)),
    OpSpec("media.create_recorder", "agent",
           "Create a WAV file recorder on an agent: it records what is connected to it (16-bit "
           "PCM mono at the bridge's clock rate). PJSIP completes the file (its header) on the bridge's "
           "next clock tick after media.destroy.",
           args=(*MEDIA_PLACE, WAV), result=MEDIA_MADE, agent_args=OWNER,
           owns=("call",)),
    OpSpec("media.player_set_pos", "media", "Move a player to a sample position.",
           args=(MEDIA_ID, Field("pos", "int", True, "position, samples from the start",
                                 lo=0, hi=2**31 - 1)),
           route="forward"),
    OpSpec("media.destroy", "media",
           "Destroy a player, recorder or tone generator (its connections go with it).",
           args=(MEDIA_ID,)),
    OpSpec("media.conf_connect", "media",
           "Connect a source to a sink in the conference bridge of the agent that holds both "
           "(a call's audio, a player or tone into a call or a recorder; two calls' audio: a "
           "bridge, both ways a conference). Both must be on the same agent (E_CROSS_AGENT).",
           args=CONF_ENDS, result=CONF_PORTS),
    OpSpec("media.conf_disconnect", "media", "Undo a media.conf_connect.", args=CONF_ENDS,
           result=CONF_PORTS),
))

EVENTS = grouped("media", (
    EventSpec("media.player_eof", "media",
              "A player reached the end of its file (with loop it starts again; without, it "
              "stays silent at the end).",
              data=(AGENT, Field("loop", "bool", True, "the player loops"))),
))
