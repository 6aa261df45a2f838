"""The conference bridge's port table: how the agent keeps PJSIP 2.15.1 from leaking it.

pjproject 2.15.1's bridge adds and removes ports asynchronously: ``pjmedia_conf_add_port`` and
``pjmedia_conf_remove_port`` only queue the operation, and the queue is applied by the bridge's
clock tick (``get_frame`` of its master port; pjmedia/src/pjmedia/conference.c). Every call takes
a port for its audio stream, so without ticks each call leaks one of the bridge's 128 ports and,
once they are gone, every call is answered ``488 Unable to create media session`` (pjproject
fixed this after 2.15.1, pull request 4253; the wheel pins 2.15.1). Two cases had no ticks:

* ``--audio null``: pjsua closes the null device after one second without bridge connections
  (``snd_auto_close_time``), even while calls are up, and calls that connect nothing never open
  it again. :func:`configure` keeps the device open: its clock thread ticks every 20 ms.
* ``--audio none``: no device and no clock at all, by design (signalling-only agents). The agent
  ticks the bridge itself, on its own thread, whenever ports are waiting to be removed
  (:meth:`Bridge.reclaim`): one tick applies the whole queue.

Why ctypes: a tick is ``pjmedia_port_get_frame`` on the bridge's master port, which pjsua hands
out only as the return value of ``pjsua_set_no_snd_dev()``; pjsua2's ``setNoDev()`` drops it.
The wheel exports both C functions, and ``pjmedia_frame`` is a five-field struct
(pjmedia/include/pjmedia/frame.h). Ticking on the agent's one thread (never concurrently with a
clock thread: there is none with ``--audio none``) is what a clock thread does, without the
thread. No library wraps this; it is small and fixed to the pinned wheel.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pjsua2 as pj

#: pjsua's audio frame length (PJSUA_DEFAULT_AUDIO_FRAME_PTIME), set explicitly by configure()
FRAME_PTIME_MS = 20
#: bytes per sample of the bridge (16-bit PCM, mono)
SAMPLE_BYTES = 2
#: bridge ports kept free: an offer that would take one of them is refused (488 to a peer,
#: E_NO_CAPACITY to a client) rather than letting pjsua fail the stream and re-create the
#: call's media transports (which, repeated, exhausts PJSIP's socket table: an abort)
RESERVE = 8


class _Frame(ctypes.Structure):
    """pjmedia_frame (pjmedia/frame.h, 2.15.1): type, buf, size, timestamp, bit_info."""

    _fields_ = [("type", ctypes.c_int), ("buf", ctypes.c_void_p), ("size", ctypes.c_size_t),
                ("timestamp", ctypes.c_uint64), ("bit_info", ctypes.c_uint32)]


_PJMEDIA_FRAME_TYPE_AUDIO = 1


def configure(media_cfg: Any) -> None:
    """Keep a sound device (the null one) open for the Endpoint's life, so its clock applies the
    bridge's queued port operations; fix the frame length the bridge ticks with."""
    media_cfg.sndAutoCloseTime = -1
    media_cfg.audioFramePtime = FRAME_PTIME_MS


class Bridge:
    """The Endpoint's conference bridge: its port figures, and ticks when it has no clock."""

    def __init__(self, ep: Any, clocked: bool, clock_rate: int) -> None:
        self.ep = ep
        self.clocked = clocked
        self.max_ports = int(ep.mediaMaxPorts())
        self.reserve = RESERVE
        #: ticks this agent gave the bridge itself (unclocked bridges only)
        self.ticks = 0
        self._master: int | None = None
        self._frame: _Frame | None = None
        self._buf: Any = None
        if not clocked:
            self._bind(clock_rate)

    def _bind(self, clock_rate: int) -> None:
        """``pjsua_set_no_snd_dev()`` (what pjsua2's setNoDev calls) also returns the master
        port; keep it, and a frame buffer of exactly one tick (the bridge asserts its size)."""
        lib = ctypes.CDLL(pj._pjsua2.__file__)
        lib.pjsua_set_no_snd_dev.restype = ctypes.c_void_p
        lib.pjsua_set_no_snd_dev.argtypes = []
        lib.pjmedia_port_get_frame.restype = ctypes.c_int
        lib.pjmedia_port_get_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Frame)]
        self._get_frame = lib.pjmedia_port_get_frame
        self._master = lib.pjsua_set_no_snd_dev()
        if not self._master:
            raise RuntimeError("the conference bridge has no master port")
        size = clock_rate * FRAME_PTIME_MS // 1000 * SAMPLE_BYTES
        self._buf = ctypes.create_string_buffer(size)
        self._frame = _Frame(_PJMEDIA_FRAME_TYPE_AUDIO, ctypes.cast(self._buf, ctypes.c_void_p),
                             size, 0, 0)

    def used(self) -> int:
        """Ports taken in the bridge now, its master port included (pjsua counts the slots in
        use, also those whose addition or removal is still queued)."""
        return int(self.ep.mediaActivePorts())

    def reclaim(self, expected: int) -> int:
        """Without a clock: when more ports are taken than ``expected`` (the master port, one per
        call, one per media object), tick once so the queued removals take effect. Returns the
        ports freed (0 with a clock: its own ticks do this within 20 ms)."""
        if self.clocked or self._frame is None:
            return 0
        before = self.used()
        if before <= expected:
            return 0
        self._frame.type = _PJMEDIA_FRAME_TYPE_AUDIO
        self._frame.size = len(self._buf)
        self._get_frame(self._master, ctypes.byref(self._frame))
        self.ticks += 1
        return max(0, before - self.used())
