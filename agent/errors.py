"""PJSIP's errors as protocol errors: one place that knows the pj_status_t values callfleet
treats apart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pjsua2 as pj

from proto import ProtoError, limits

#: pj_status_t of "too many objects" (pjsua's call table is full)
PJ_ETOOMANY = 70010
#: pjsua refuses a new offer while the call's media is changing (an offer under way)
PJ_EINVALIDOP = 70013
#: the session cannot take the request in its state (an unconfirmed call, a pending INVITE)
PJSIP_ESESSIONSTATE = 171141

#: pj_status_t of "message too long" (PJSIP_EMSGTOOLONG): the request exceeds PJSIP's buffer
PJSIP_EMSGTOOLONG = 171023

def pj_error(exc: Exception, op: str, obj: str) -> ProtoError:
    """A pjsua2 exception as a protocol error, keeping PJSIP's status and text. A request PJSIP
    could not fit in its buffer is the caller's to shorten: E_BAD_ARGS (nothing was sent)."""
    status = int(getattr(exc, "status", 0) or 0)
    text = getattr(exc, "reason", "") or str(exc)
    if status == PJSIP_EMSGTOOLONG:
        return ProtoError("E_BAD_ARGS", f"{op}: the SIP request would be longer than PJSIP's "
                          f"{limits.MAX_SIP_MESSAGE} bytes: shorten the text, the URIs or the "
                          "extra headers (nothing was sent)", status=status, obj=obj, op=op)
    return ProtoError("E_PJSIP", text, status=status, obj=obj, op=op)

@contextmanager
def pj_errors(op: str, obj: str) -> Iterator[None]:
    """Inside the block, a pjsua2 exception becomes the op's protocol error (pj_error)."""
    try:
        yield
    except pj.Error as exc:
        raise pj_error(exc, op, obj) from None
