"""Codecs and sound devices of the agents."""

from __future__ import annotations

from proto.ops.fields import AGENT, ID
from proto.ops.spec import ADMIN, OpSpec, grouped
from proto.schema import Field

#: a codec priority: 0 disables the codec, higher is preferred (PJSIP's range)
CODEC_PRIO = Field("priority", "int", True, "0 (disabled) .. 255 (most preferred)", lo=0, hi=255)

ON_AGENT = Field("agent", "str", False, "the agent to ask (default: the first one)",
                  lo=1, hi=ID)


OPS = grouped("codec", (
    OpSpec("lib.enum_codecs", "agent",
           "The audio codecs of an agent's build with their priorities (every agent runs the same "
           "build; priorities may differ per agent).",
           args=(ON_AGENT,),
           result=(AGENT, Field("codecs", "list", True, "one map per codec: id (e.g. "
                                "PCMU/8000/1), name, priority, clock_rate, channels"))),
    OpSpec("lib.set_codec_priority", "agent",
           "Set a codec's priority on one agent, or on every agent (the coordinator remembers it "
           "and sets it on agents that join later). 0 disables the codec: a call whose offer "
           "has no enabled codec in common is refused with 488.",
           args=(Field("codec", "str", True, "codec id or its prefix (PCMU, PCMU/8000/1, speex/"
                       "16000)", lo=1, hi=64), CODEC_PRIO,
                 Field("agent", "str", False, "only this agent (default: every agent)",
                       lo=1, hi=ID)),
           result=(Field("agents", "list", True, "the agents that set it"),
                   Field("codecs", "list", True, "the codec ids it matched")),
           roles=ADMIN),
    OpSpec("lib.enum_snd_dev", "agent",
           "The sound devices an agent's build offers (the pjsua2-python wheel offers none: "
           "only the null device, which is not listed) and the one in use.",
           args=(ON_AGENT,),
           result=(AGENT, Field("devices", "list", True, "one map per device: id, name, driver, "
                                "input_count, output_count"),
                   Field("audio", "str", True, "in use: null (the null device clocks media), "
                         "none (no device, no media clock) or a device name"))),
))
