"""callfleet's wire protocol: envelope, op and event registry, error codes, limits, codec.

Imports nothing from ``agent`` or ``coordinator``.
"""

from proto.codec import (
    Message,
    check_event,
    check_expiry,
    check_request,
    decode,
    encode,
    error,
    evt,
    hb,
    ok,
    req,
)
from proto.errors import ERROR_CODES, ProtoError
from proto.ops import CALL_STATES, EVENTS, KINDS, OPS

__all__ = [
    "CALL_STATES", "ERROR_CODES", "EVENTS", "KINDS", "OPS", "Message", "ProtoError",
    "check_event", "check_expiry", "check_request", "decode", "encode", "error", "evt", "hb", "ok", "req",
]
