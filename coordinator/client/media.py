"""The media part of the client's ``Lib``: tone generators, WAV players and recorders on an
agent, and its conference bridge, with pjsua's names (``create_player``, ``player_get_slot``,
``conf_connect``, ...).

A media object lives on one agent: create it on the agent of the call it will serve
(``call=``) or on a named agent (``agent=``). As in pjsua, a "slot" is what ``conf_connect``
takes; here a slot is named by its object's id, so ``player_get_slot(player_id)`` is the player
id and ``Call.info().conf_slot`` is the call id. Both ends of a connection must be on one agent.
File names are paths on the agent's host. Codecs and sound devices are here too
(``enum_codecs``, ``set_codec_priority``, ``enum_snd_dev``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coordinator.client.dispatch import handles
from coordinator.client.session import EofCallback, Session


@dataclass
class CodecInfo:
    """As pjsua's CodecInfo: ``name`` is the codec id (e.g. PCMU/8000/1)."""

    name: str
    priority: int
    clock_rate: int
    channel_count: int


@dataclass
class SoundDeviceInfo:
    """As pjsua's SoundDeviceInfo."""

    name: str
    input_channels: int
    output_channels: int
    driver: str


@dataclass
class PlayerEnd:
    """What a player's media.player_eof calls: ``on_eof(player id)``, if given."""

    player: str
    on_eof: EofCallback | None


class MediaLib:
    """Mixed into ``coordinator.client.lib.Lib``: its requests go through the session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _request(self, op: str, args: dict[str, Any], obj: str = "") -> dict[str, Any]:
        return self.session.request(op, args, obj)

    def _create_media(self, op: str, args: dict[str, Any], agent: str | None, call: str | None,
                      persistent: bool) -> str:
        if agent:
            args["agent"] = agent
        if call:
            args["call"] = call
        if persistent:
            args["persistent"] = True
        return str(self._request(op, args)["media"])

    def create_tone(self, freq1: int, freq2: int = 0, on_ms: int = 0, off_ms: int = 0,
                    agent: str | None = None, call: str | None = None,
                    persistent: bool = False) -> str:
        """A tone generator playing at once and until destroyed (``on_ms`` 0: continuous);
        returns its id. ``persistent``: it stays when this client's lease expires (as for
        the other media objects)."""
        return self._create_media("media.create_tone", {"freq1": freq1, "freq2": freq2,
                                                        "on_ms": on_ms, "off_ms": off_ms},
                                  agent, call, persistent)

    def create_player(self, filename: str, loop: bool = False, agent: str | None = None,
                      call: str | None = None, on_eof: EofCallback | None = None,
                      persistent: bool = False) -> str:
        """A WAV player (16-bit PCM mono); ``on_eof(player_id)`` runs at each end of the file
        (on the callback thread). Returns the player id."""
        pid = self._create_media("media.create_player", {"filename": filename, "loop": loop},
                                 agent, call, persistent)
        self.session.players[pid] = PlayerEnd(pid, on_eof)
        return pid

    def player_get_slot(self, player_id: str) -> str:
        return player_id

    def player_set_pos(self, player_id: str, pos: int) -> None:
        """Move the player to sample ``pos``."""
        self._request("media.player_set_pos", {"media": player_id, "pos": pos}, obj=player_id)

    def player_destroy(self, player_id: str) -> None:
        self.session.players.pop(player_id, None)
        self._request("media.destroy", {"media": player_id}, obj=player_id)

    def create_recorder(self, filename: str, agent: str | None = None,
                        call: str | None = None, persistent: bool = False) -> str:
        """A WAV recorder; the file is complete once ``recorder_destroy()`` returns."""
        return self._create_media("media.create_recorder", {"filename": filename}, agent, call,
                                  persistent)

    def recorder_get_slot(self, recorder_id: str) -> str:
        return recorder_id

    def recorder_destroy(self, recorder_id: str) -> None:
        self._request("media.destroy", {"media": recorder_id}, obj=recorder_id)

    def tone_destroy(self, tone_id: str) -> None:
        self._request("media.destroy", {"media": tone_id}, obj=tone_id)

    def conf_connect(self, src_slot: str, dst_slot: str) -> dict[str, Any]:
        """Send ``src_slot``'s audio (a call, player or tone) to ``dst_slot`` (a call or a
        recorder); returns the agent and both bridge port numbers."""
        return self._request("media.conf_connect", {"src": src_slot, "dst": dst_slot},
                             obj=src_slot)

    def conf_disconnect(self, src_slot: str, dst_slot: str) -> None:
        self._request("media.conf_disconnect", {"src": src_slot, "dst": dst_slot}, obj=src_slot)

    # codecs and sound devices
    def enum_codecs(self, agent: str | None = None) -> list[CodecInfo]:
        """The codecs of an agent (default: the first one) with their priorities."""
        r = self._request("lib.enum_codecs", {"agent": agent} if agent else {})
        return [CodecInfo(c["id"], c["priority"], c["clock_rate"], c["channels"])
                for c in r["codecs"]]

    def set_codec_priority(self, name: str, priority: int, agent: str | None = None) -> list[str]:
        """Set the priority (0: disabled .. 255) of the codecs whose id starts with ``name``, on
        ``agent`` or on every agent (agents that join later too); returns the ids it set."""
        args: dict[str, Any] = {"codec": name, "priority": priority}
        if agent:
            args["agent"] = agent
        return list(self._request("lib.set_codec_priority", args, obj=name)["codecs"])

    def enum_snd_dev(self, agent: str | None = None) -> list[SoundDeviceInfo]:
        """The sound devices of an agent's build (the pjsua2-python wheel has none: its agents
        run on the null device, ``--audio null``)."""
        r = self._request("lib.enum_snd_dev", {"agent": agent} if agent else {})
        return [SoundDeviceInfo(d["name"], d["input_count"], d["output_count"], d["driver"])
                for d in r["devices"]]


@handles("media.player_eof", "players")
def _player_eof(end: PlayerEnd, d: dict[str, Any]) -> None:
    if end.on_eof is not None:
        end.on_eof(end.player)
