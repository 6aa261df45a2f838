"""What the load calls of one run send, and whether the far end's tone is heard.

``silence``: nothing is connected to the calls (RTP still flows: VAD is off). ``tone``: one
tone generator per run and agent feeds every load call, at both ends; the end that hangs up
reads the level it receives from the far end just before hanging up (the call's conference
port is connected to the null playback device so that the bridge measures it). ``wav:PATH``:
one looped WAV player per run and agent feeds every call.

The media object is owned by the run's LoadGen, which the agent drops before libDestroy.
"""

from __future__ import annotations

import os
from typing import Any

import pjsua2 as pj

from proto import ProtoError

#: the tone every end sends (Hz)
TONE_HZ = 1000
#: level (0-100) of what the far end sends above which a tone is heard: silence reads 0, the
#: tone at the generator's default volume about 40
HEARD_LEVEL = 10


class LoadMedia:
    def __init__(self, spec: str, run: str) -> None:
        self.spec = spec
        self.source: Any = None
        if spec == "tone":
            self.source = tone_generator(TONE_HZ)
        elif spec.startswith("wav:"):
            player = pj.AudioMediaPlayer()
            try:
                player.createPlayer(spec[4:], 0)  # 0: loop
            except pj.Error as exc:
                raise ProtoError("E_BAD_ARGS", f"cannot play {spec[4:]!r} on this agent: "
                                 f"{exc.reason}", obj=run, op="load.agent_start") from None
            self.source = player

    @property
    def checks_tone(self) -> bool:
        return self.spec == "tone"

    def attach(self, call: Any, listen: bool = False) -> None:
        """The call's audio is up: feed it, and let the bridge measure what it receives when a
        tone is checked (``listen``: a scenario step checks one)."""
        try:
            aud = call.getAudioMedia(-1)
            if self.source is not None:
                self.source.startTransmit(aud)
            if self.checks_tone or listen:
                aud.startTransmit(pj.Endpoint.instance().audDevManager().getPlaybackDevMedia())
        except pj.Error:
            pass  # the call is ending, or has no audio: nothing to feed

    def close(self) -> None:
        """Destroy the source (while the Endpoint lives)."""
        self.source = None

    def heard(self, call: Any) -> bool:
        """Whether the far end's tone reaches this end of the call now. pjsua2 names levels from
        the application's side: getTxLevel() is what the call's port brings into the bridge,
        i.e. the audio received from the far end (getRxLevel() is what this end sends)."""
        try:
            return int(call.getAudioMedia(-1).getTxLevel()) >= HEARD_LEVEL
        except pj.Error:
            return False


def wav_player(path: str, s: float | None) -> tuple[Any, float]:
    """A player of the WAV file at ``path`` (looped when it plays ``s`` seconds) and how long
    it plays: ``s``, or the file's length. Raises FileNotFoundError, or pj.Error for a file
    pjmedia cannot read."""
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    player = pj.AudioMediaPlayer()
    player.createPlayer(path, 0 if s else pj.PJMEDIA_FILE_NO_LOOP)
    fmt = player.getPortInfo().format
    length = player.getInfo().sizeSamples / max(1, fmt.clockRate * max(1, fmt.channelCount))
    return player, float(s) if s else length


def tone_generator(hz: int) -> Any:
    """A generator playing a continuous tone of ``hz``."""
    gen = pj.ToneGenerator()
    gen.createToneGenerator()
    tone = pj.ToneDesc()
    tone.freq1 = hz
    tone.freq2 = 0
    tone.on_msec = 1000
    tone.off_msec = 0
    tone.volume = 0  # the generator's default volume
    tones = pj.ToneDescVector()
    tones.append(tone)
    gen.play(tones, True)
    return gen
