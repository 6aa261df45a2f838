"""Executors of the media ops: tone generators, WAV players and recorders in the agent's
conference bridge, and bridge connections between them and calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

from agent import endpoint, media_objects
from agent.errors import pj_errors
from agent.media_objects import MediaObject
from agent.ops.registry import executes
from agent.state import AgentState
from proto import ProtoError
from proto.schema import is_wav_path


def _admit(state: AgentState, op: str) -> None:
    """Room for one more media object, and a bridge clock to play it."""
    if not endpoint.audio_clocked():
        raise ProtoError("E_WRONG_STATE", f"agent {state.name} runs without an audio clock "
                         "(--audio none): media objects would never play", op=op)
    if len(state.media) >= media_objects.MAX_MEDIA_OBJECTS:
        raise ProtoError("E_NO_CAPACITY", f"agent {state.name} holds its maximum of "
                         f"{media_objects.MAX_MEDIA_OBJECTS} media objects", op=op)

def _wav_path(args: dict[str, Any], op: str, reading: bool) -> str:
    """The WAV path of a player (an existing file) or a recorder (in an existing directory)."""
    path = str(args["filename"])
    if not is_wav_path(path):
        raise ProtoError("E_BAD_ARGS", f"{path!r} is not an absolute path of a .wav file", op=op)
    if reading and not os.path.isfile(path):
        raise ProtoError("E_NOT_FOUND", f"no file {path!r} on agent host", op=op)
    if not reading and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(path))):
        raise ProtoError("E_NOT_FOUND", f"cannot write {path!r}: no such directory", op=op)
    return path

def _create(state: AgentState, args: dict[str, Any], op: str, kind: str,
            make: Callable[[str], Any]) -> dict[str, Any]:
    """Make a media object of ``kind`` with ``make(gid)`` and hold it (with its owner)."""
    _admit(state, op)
    gid = state.new_media_id(kind)
    with pj_errors(op, gid):
        port = make(gid)
    obj = MediaObject(gid, kind, port, args.get("owner") or "", args.get("owner_key") or "",
                      bool(args.get("persistent")))
    state.media[gid] = obj
    return {"media": gid, "agent": state.name, "slot": obj.slot}

@executes("media.create_tone")
def media_create_tone(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _create(state, args, "media.create_tone", "tone", lambda gid: media_objects.make_tone(
        args["freq1"], args.get("freq2") or 0, args.get("on_ms") or 0, args.get("off_ms") or 0))

@executes("media.create_player")
def media_create_player(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    path = _wav_path(args, "media.create_player", reading=True)
    return _create(state, args, "media.create_player", "player",
                   lambda gid: media_objects.make_player(state, gid, path, bool(args.get("loop"))))

@executes("media.create_recorder")
def media_create_recorder(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    path = _wav_path(args, "media.create_recorder", reading=False)
    return _create(state, args, "media.create_recorder", "recorder",
                   lambda gid: media_objects.make_recorder(path))

def _media(state: AgentState, gid: str, op: str) -> MediaObject:
    obj: MediaObject | None = state.media.get(gid)
    if obj is None:
        raise ProtoError("E_NOT_FOUND", f"no media object {gid!r} on this agent", obj=gid, op=op)
    return obj

@executes("media.player_set_pos")
def media_player_set_pos(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    op = "media.player_set_pos"
    obj = _media(state, args["media"], op)
    if obj.kind != "player":
        raise ProtoError("E_BAD_ARGS", f"{obj.gid!r} is a {obj.kind}, not a player",
                         obj=obj.gid, op=op)
    with pj_errors(op, obj.gid):
        obj.port.setPos(args["pos"])
    return {}

@executes("media.destroy")
def media_destroy(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    obj = _media(state, args["media"], "media.destroy")
    if obj.kind == "tone":
        obj.port.stop()
    del state.media[obj.gid]  # the only reference: pjsua2 destroys the port now
    state.forget(obj.gid)
    return {}

def _end(state: AgentState, gid: str, op: str, role: str) -> tuple[Any, int]:
    """The AudioMedia of a media object or a call, as the ``role`` (src or dst) of a bridge
    connection, and its bridge port."""
    obj = state.media.get(gid)
    if obj is not None:
        allowed = media_objects.SOURCES if role == "src" else media_objects.SINKS
        if obj.kind not in allowed:
            raise ProtoError("E_BAD_ARGS", f"a {obj.kind} cannot be the {role} of a connection "
                             f"(use a {' or '.join(allowed)} or a call)", obj=gid, op=op)
        return obj.port, obj.slot
    call = state.calls.get(gid)
    if call is None or call.ended:
        raise ProtoError("E_NOT_FOUND", f"no media object or live call {gid!r} on this agent",
                         obj=gid, op=op)
    try:
        aud = call.getAudioMedia(-1)
    except pj.Error:
        raise ProtoError("E_WRONG_STATE", "the call has no active audio (not answered yet, or "
                         "ended)", obj=gid, op=op) from None
    return aud, int(aud.getPortId())

def _transmit(state: AgentState, args: dict[str, Any], op: str, start: bool) -> dict[str, Any]:
    """Start (or stop) sending ``src``'s audio to ``dst`` in the bridge."""
    if args["src"] == args["dst"]:
        raise ProtoError("E_BAD_ARGS", "src and dst are the same object", obj=args["src"], op=op)
    src, src_slot = _end(state, args["src"], op, "src")
    dst, dst_slot = _end(state, args["dst"], op, "dst")
    with pj_errors(op, args["src"]):
        if start:
            src.startTransmit(dst)
        else:
            src.stopTransmit(dst)
    return {"agent": state.name, "src_slot": src_slot, "dst_slot": dst_slot}

@executes("media.conf_connect")
def media_conf_connect(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _transmit(state, args, "media.conf_connect", start=True)

@executes("media.conf_disconnect")
def media_conf_disconnect(state: AgentState, args: dict[str, Any]) -> dict[str, Any]:
    return _transmit(state, args, "media.conf_disconnect", start=False)
