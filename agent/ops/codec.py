"""Executors of the codec and sound device ops: the codecs of the build with their priorities,
a priority set, the sound devices."""

from __future__ import annotations

from typing import Any

import pjsua2 as pj

from agent import endpoint
from agent.errors import pj_errors
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError


def _codec(info: Any) -> dict[str, Any]:
    """A codec as the wire lists it; its id is ``name/clock rate/channels``."""
    cid = str(info.codecId)
    name, rate, channels = (cid.split("/") + ["", "", ""])[:3]
    return {"id": cid, "name": name, "priority": int(info.priority),
            "clock_rate": int(rate) if rate.isdigit() else 0,
            "channels": int(channels) if channels.isdigit() else 1}

def _codecs() -> list[dict[str, Any]]:
    return [_codec(ci) for ci in pj.Endpoint.instance().codecEnum2()]

@executes("lib.enum_codecs")
def lib_enum_codecs(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return {"agent": state.name, "codecs": _codecs()}

@executes("lib.set_codec_priority")
def lib_set_codec_priority(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    """As PJSIP matches codec ids: the given id is a case-insensitive prefix of the full ids."""
    op, wanted = "lib.set_codec_priority", args["codec"]
    matched = [c["id"] for c in _codecs() if c["id"].lower().startswith(wanted.lower())]
    if not matched:
        raise ProtoError("E_NOT_FOUND", f"no codec {wanted!r} in this build (see "
                         "lib.enum_codecs)", obj=wanted, op=op)
    with pj_errors(op, wanted):
        pj.Endpoint.instance().codecSetPriority(wanted, args["priority"])
    return {"agents": [state.name], "codecs": matched}

@executes("lib.enum_snd_dev")
def lib_enum_snd_dev(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    devices = [{"id": i, "name": str(d.name), "driver": str(d.driver),
                "input_count": int(d.inputCount), "output_count": int(d.outputCount)}
               for i, d in enumerate(pj.Endpoint.instance().audDevManager().enumDev2())]
    return {"agent": state.name, "devices": devices, "audio": endpoint.audio_mode()}
