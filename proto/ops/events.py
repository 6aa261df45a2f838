"""Event subscriptions of a client connection, and the gap notices of its queue."""

from __future__ import annotations

from proto.ops.fields import ID
from proto.ops.spec import READ, EventSpec, OpSpec, grouped
from proto.schema import Field

OPS = grouped("events", (
    OpSpec("events.subscribe", "coordinator",
           "Also receive, on this connection, every event that a filter selects (besides the "
           "events of the objects this connection created). The reply carries a snapshot of the "
           "selected accounts and live calls and precedes every event the subscription delivers.",
           args=(Field("sub", "str", False, "pre-chosen subscription id; one this connection "
                       "holds is replaced", lo=1, hi=ID),
                 Field("include", "map", False, "filter: events, accounts, calls, runs (lists of "
                       "strings); absent: every event"),
                 Field("exclude", "map", False, "filter of events not to deliver; absent: none"),
                 Field("snapshot", "bool", False, "list the selected accounts and calls "
                       "(default true)")),
           result=(Field("sub", "str", True, "subscription id", lo=1, hi=ID),
                   Field("accounts", "list", True, "one map per account: acc, uri, agent, "
                         "contact, replicas, auto_answer"),
                   Field("calls", "list", True, "one map per live call: call, acc, agent, state, "
                         "seq, role, code, reason, remote_uri, call_id, media"),
                   Field("truncated", "bool", True, "the lists were cut short (MAX_SNAPSHOT, "
                         "frame size)")),
           roles=READ),
    OpSpec("events.unsubscribe", "coordinator",
           "End one subscription of this connection, or all of them.",
           args=(Field("sub", "str", False, "subscription id; absent: every one of this "
                       "connection", lo=1, hi=ID),),
           result=(Field("removed", "int", True, "how many subscriptions ended", lo=0),),
           roles=READ),
))

EVENTS = grouped("events", (
    EventSpec("events.gap", "connection",
              "Sent by the coordinator to a client connection that lost messages (its queue was "
              "full, or it was not connected): how many since the previous notice. It comes "
              "before any later message on that connection; `obj` is empty and `seq` numbers the "
              "notices of the connection.",
              data=(Field("dropped", "int", True, "messages lost since the previous notice "
                          "(events and replies)", lo=1),
                    Field("replies", "int", True, "how many of them were replies", lo=0),
                    Field("total", "int", True, "messages this connection lost in all", lo=1))),
))
