"""What the agent advertises in its Supported header beyond what pjsua2's API can change:
leaving out ``norefersub`` (pjsua's ``--no-supported-norefersub``).

pjproject 2.15.1's pjsua puts ``norefersub`` (RFC 4488) into the endpoint's Supported capability
when it starts and has no setting to leave it out (``pjsua_config.no_refer_sub`` came in a later
release); pjsua2 exposes no capability table. Some peers refuse an INVITE that advertises it.
The pjsua2-python wheel's extension module exports PJSIP's C API, so this module calls it
through ``ctypes`` (no library wraps it): ``pjsip_endpt_get_capability`` gives the endpoint's
Supported header, a ``pjsip_generic_array_hdr``, and the one value is removed from its array.
It runs once, right after the Endpoint is initialised, on the thread that owns it, before any
message is built; the header then lists the other capabilities in their order.
"""

from __future__ import annotations

import ctypes
from typing import Any

import pjsua2 as pj


class _PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("slen", ctypes.c_ssize_t)]

    def text(self) -> str:
        return ctypes.string_at(self.ptr, self.slen).decode("ascii", "replace") if self.ptr else ""


#: PJSIP_GENERIC_ARRAY_MAX_COUNT of pjsip/sip_config.h; only the first ``count`` are touched
_MAX_VALUES = 32


class _ArrayHdr(ctypes.Structure):
    """pjsip_generic_array_hdr (pjsip/sip_msg.h): the common header members (list links,
    type, name, short name, virtual table), then the values."""
    _fields_ = [("prev", ctypes.c_void_p), ("next", ctypes.c_void_p), ("type", ctypes.c_int),
                ("name", _PjStr), ("sname", _PjStr), ("vptr", ctypes.c_void_p),
                ("count", ctypes.c_uint), ("values", _PjStr * _MAX_VALUES)]


def _library() -> Any:
    lib = ctypes.CDLL(pj._pjsua2.__file__)  # already loaded: the same handle
    lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
    lib.pjsip_endpt_get_capability.restype = ctypes.c_void_p
    lib.pjsip_endpt_get_capability.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return lib


def _supported() -> _ArrayHdr:
    lib = _library()
    endpt = lib.pjsua_get_pjsip_endpt()
    addr = lib.pjsip_endpt_get_capability(endpt, pj.PJSIP_H_SUPPORTED, None) if endpt else None
    if not addr:
        raise RuntimeError("PJSIP has no Supported capability (Endpoint not initialised)")
    hdr = _ArrayHdr.from_address(addr)
    if hdr.name.text() != "Supported" or hdr.count > _MAX_VALUES:
        raise RuntimeError("PJSIP's Supported capability has an unexpected layout")
    return hdr


def supported() -> list[str]:
    """The option tags of the endpoint's Supported header, in order."""
    hdr = _supported()
    return [hdr.values[i].text() for i in range(hdr.count)]


def drop_supported(tag: str) -> bool:
    """Remove ``tag`` from the endpoint's Supported header; False when it was not there."""
    hdr = _supported()
    tags = [hdr.values[i].text() for i in range(hdr.count)]
    if tag not in tags:
        return False
    for i in range(tags.index(tag), hdr.count - 1):
        hdr.values[i] = _PjStr(hdr.values[i + 1].ptr, hdr.values[i + 1].slen)
    hdr.count -= 1
    return True
