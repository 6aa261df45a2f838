"""The client's one exception, as pjsua's: which object, which operation, code and message."""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """An operation failed: which object, which operation, the stable code and the message.

    ``err_code`` is the symbolic code (``E_NO_CAPACITY``, ``E_PJSIP``, ...); ``status`` is
    PJSIP's pj_status_t when PJSIP produced the error, else 0.
    """

    def __init__(self, obj_name: str, op_name: str, err_code: str, err_msg: str,
                 status: int = 0) -> None:
        super().__init__(f"{obj_name or '-'}.{op_name}: {err_code}: {err_msg}")
        self.obj_name = obj_name
        self.op_name = op_name
        self.err_code = err_code
        self.err_msg = err_msg
        self.status = status

    @classmethod
    def of_reply(cls, error: dict[str, Any], obj: str, op: str) -> Error:
        """The error of an error reply (its ``error`` map) to ``op`` about ``obj``."""
        return cls(str(error.get("obj") or obj), str(error.get("op") or op),
                   str(error.get("code", "E_INTERNAL")), str(error.get("msg", "")),
                   int(error.get("status") or 0))
