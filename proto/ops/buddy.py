"""Buddies (presence subscriptions of an account) and their events."""

from __future__ import annotations

from proto.ops.fields import ACC_ID, ID
from proto.ops.spec import EventSpec, OpSpec, grouped
from proto.schema import Field

#: A buddy's presence status.
BUDDY_STATUSES = ("unknown", "online", "offline")

BUDDY_ID = Field("buddy", "str", True, "buddy id", lo=1, hi=ID)

BUDDY_INFO = (
    Field("uri", "str", True, "the buddy's URI"),
    Field("contact", "str", True, "its Contact, once known ('' before)"),
    Field("status", "str", True, "unknown | online | offline", choices=BUDDY_STATUSES),
    Field("status_text", "str", True, "the status as text (e.g. Online, Offline)"),
    Field("note", "str", True, "the note the buddy published ('' if none)"),
    Field("activity", "str", True, "its RPID activity: unknown | away | busy"),
    Field("monitoring", "bool", True, "its presence is subscribed"),
    Field("sub_state", "str", True, "subscription state: NULL | SENT | ACCEPTED | PENDING | "
          "ACTIVE | TERMINATED | UNKNOWN"),
    Field("sub_code", "int", True, "the last SUBSCRIBE/NOTIFY status that ended it (0: none)",
          lo=0, hi=699),
    Field("sub_reason", "str", True, "why the subscription ended ('' while it lasts)"),
)


OPS = grouped("buddy", (
    OpSpec("acc.add_buddy", "account",
           "Add a buddy (a presence URI to watch) to the account, on its home agent; with "
           "subscribe=true its presence is subscribed at once (SUBSCRIBE). Its status comes as "
           "acc.buddy_state events.",
           args=(ACC_ID, Field("uri", "uri", True, "the buddy's URI"),
                 Field("buddy", "str", False, "pre-chosen buddy id (idempotent retries)", lo=1,
                       hi=ID),
                 Field("subscribe", "bool", False, "subscribe to its presence now (default "
                       "false)")),
           result=(BUDDY_ID,), agent_args=(BUDDY_ID,)),
    OpSpec("buddy.subscribe", "buddy",
           "Subscribe to a buddy's presence (subscribe=true) or end the subscription; the "
           "outcome comes as acc.buddy_state events.",
           args=(BUDDY_ID, Field("subscribe", "bool", True, "true: SUBSCRIBE; false: "
                                  "unsubscribe")),
           agent_args=(ACC_ID,)),
    OpSpec("buddy.info", "buddy", "The buddy's presence as its agent knows it now.",
           args=(BUDDY_ID,), agent_args=(ACC_ID,), result=BUDDY_INFO),
    OpSpec("buddy.delete", "buddy", "Delete a buddy (its subscription ends).",
           args=(BUDDY_ID,), agent_args=(ACC_ID,)),
))

EVENTS = grouped("buddy", (
    EventSpec("acc.buddy_state", "account",
              "A buddy of the account changed: its presence (a NOTIFY) or its subscription.",
              data=(BUDDY_ID, *BUDDY_INFO)),
))
