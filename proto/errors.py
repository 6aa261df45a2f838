"""Stable symbolic error codes and the one typed error the codec raises."""

from __future__ import annotations

#: code -> meaning. Codes are stable within a protocol version.
ERROR_CODES: dict[str, str] = {
    "E_BAD_MSG": "the frame is not a valid msgpack map, or is too large or too deep",
    "E_BAD_VERSION": "the message's protocol version is not supported",
    "E_BAD_ARGS": "a required argument is missing, or an argument has the wrong type or range",
    "E_UNKNOWN_OP": "the op name is not known to the receiver",
    "E_NOT_FOUND": "the object id names no live object",
    "E_DUPLICATE": "a pre-chosen object id is already in use by another object",
    "E_NO_CAPACITY": "no agent has a free call slot or socket budget for this request",
    "E_NO_AGENT": "no agent is connected",
    "E_PJSIP": "PJSIP refused the operation; `status` holds the pj_status_t",
    "E_WRONG_STATE": "the object is not in a state that allows the operation",
    "E_WORKER_LOST": "the agent that owned the object was lost before it replied",
    "E_TIMEOUT": "no reply arrived in time",
    "E_CROSS_AGENT": "the objects named are on different agents (a conference bridge is "
                     "agent-local)",
    "E_EXPIRED": "the request reached the coordinator or its agent after its `expires` time: "
                 "it was not executed",
    "E_INTERNAL": "an unexpected failure in the receiver; it keeps serving",
    "E_ADOPTING": "the coordinator has just (re)started and is re-adopting its agents' objects; "
                  "it holds no more requests: retry after its adoption window",
    "E_FORBIDDEN": "the client's role does not allow the op, or the object belongs to another "
                   "client",
    "E_BUSY": "the client connection has too many requests waiting for its earlier ones (its "
              "budget in the coordinator): nothing was done; retry once replies come back",
}


class ProtoError(Exception):
    """A message could not be decoded or validated, or an operation failed.

    ``code`` is one of :data:`ERROR_CODES`; ``status`` is a pj_status_t when PJSIP produced it.
    """

    def __init__(self, code: str, msg: str, *, status: int = 0, obj: str = "", op: str = ""):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.obj = obj
        self.op = op

    def as_dict(self) -> dict[str, object]:
        """The wire form: the ``error`` map of an error reply."""
        return {"code": self.code, "status": self.status, "obj": self.obj, "op": self.op,
                "msg": self.msg}
