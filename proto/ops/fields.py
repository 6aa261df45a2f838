"""Fields several op groups share."""

from __future__ import annotations

from proto import limits
from proto.schema import Field

ID = limits.MAX_ID

ACC_ID = Field("acc", "str", True, "account id", lo=1, hi=ID)

CALL_ID = Field("call", "str", True, "call id", lo=1, hi=ID)

AGENT = Field("agent", "str", True, "name of the agent that holds the object")

HEADERS = Field("headers", "headers", False, "extra SIP headers, name -> value")

#: who owns an object an agent creates: kept by the agent and reported in its hello
#: ``holdings``, so that a restarted coordinator can give the object back to its owner
OWNER = (Field("owner", "str", False, "the owning client's routing id, hex (the agent keeps it "
               "for a restarted coordinator, section 9)", hi=2 * 255),
         Field("owner_key", "str", False, "the owning client's CURVE public key (Z85), when "
               "CURVE is on", hi=64))

#: The SIP transports an agent may listen on (`callfleet agent --transports`).
SIP_TRANSPORTS = ("udp", "tcp", "tls")

TEXT = Field("text", "str", True, "the message body", hi=limits.MAX_PAGER)

MIME = Field("content_type", "str", False, "its MIME type (default text/plain)", lo=3, hi=128)

IM_ID = Field("im_id", "int", False, "a number of the caller's choosing, reported back by the "
               "pager_status event (default 0)", lo=0, hi=2**31 - 1)

TYPING = Field("is_typing", "bool", False, "typing (default true) or stopped typing")

IM_STATUS = (
    Field("body", "str", True, "the body of the message it is about"),
    Field("im_id", "int", True, "the im_id given when sending (0 if none; for several messages "
          "with the same body in flight, matched in sending order)", lo=0),
    Field("code", "int", True, "SIP status code of the MESSAGE (200/202: delivered)", lo=0,
          hi=699),
    Field("reason", "str", True, "reason phrase"),
)

RUN_ID = Field("run", "str", True, "load run id", lo=1, hi=ID)

#: an object meant to outlive its creator's lease (PROTOCOL.md section 10, Leases)
PERSISTENT = Field("persistent", "bool", False, "keep the object when this client's lease "
                   "expires (default false: it is released with the client's other objects); an "
                   "admin may adopt or delete it")
