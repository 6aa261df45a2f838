"""Client connections: their leases (liveness, as etcd's and ZooKeeper's sessions), and what an
admin does with the persistent objects a client left behind."""

from __future__ import annotations

from proto import limits
from proto.ops.spec import ADMIN, READ, EventSpec, OpSpec, grouped
from proto.schema import Field

#: what an expired client left or lost, by kind (the counts of client.expired)
RELEASED = (
    Field("accounts", "int", True, "accounts deleted (with their buddies)", lo=0),
    Field("buddies", "int", True, "buddies deleted with those accounts", lo=0),
    Field("calls", "int", True, "calls hung up", lo=0),
    Field("media", "int", True, "media objects destroyed", lo=0),
    Field("subscriptions", "int", True, "event subscriptions dropped", lo=0),
    Field("runs", "int", True, "load runs stopped", lo=0),
    Field("kept", "int", True, "persistent objects left on the fleet (accounts, calls, media "
          "objects): an admin may adopt or delete them", lo=0),
)

_IDS = "ids of the {} adopted"

OPS = grouped("client", (
    OpSpec("client.lease", "coordinator",
           "Set this connection's lease, or renew it: the light heartbeat of a client. Any "
           "request renews the lease; a client that may stay silent sends this one every third "
           "of its lease (the Python client does, by itself). When the coordinator hears nothing "
           "from the connection for a whole lease, it releases what the connection owns (but its "
           "persistent objects) and says so in a client.expired event.",
           args=(Field("lease", "float", False, "seconds the lease lasts from each message of "
                       f"this connection (default: as before; {limits.LEASE_S:g} s for a new "
                       "connection)", lo=limits.LEASE_MIN_S, hi=limits.LEASE_MAX_S),),
           result=(Field("lease", "float", True, "the connection's lease, seconds",
                         lo=limits.LEASE_MIN_S, hi=limits.LEASE_MAX_S),
                   Field("coordinator", "str", False, "the coordinator's instance id (as "
                         "lib.status gives it): a new one means the coordinator restarted, and "
                         "the connection's subscriptions are gone"),
                   Field("fresh", "bool", True, "the lease started with this request: the "
                         "connection is new to the coordinator, or its earlier lease expired "
                         "(what it owned then was released), or the coordinator restarted and "
                         "adopted nothing of it")),
           roles=READ),
    OpSpec("client.adopt", "coordinator",
           "Take persistent objects over (an admin): they then belong to this connection (its "
           "events, its lease; they stay persistent). Without objects: every persistent object "
           "whose owner has no lease (it expired). Refused as a whole when an id names no "
           "object (E_NOT_FOUND) or an object that is not persistent (E_FORBIDDEN).",
           args=(Field("objects", "list", False, "ids of accounts, calls and media objects "
                       "(strings); absent: every orphan"),),
           result=(Field("accounts", "list", True, _IDS.format("accounts")),
                   Field("calls", "list", True, _IDS.format("calls")),
                   Field("media", "list", True, _IDS.format("media objects"))),
           roles=ADMIN),
))

EVENTS = grouped("client", (
    EventSpec("client.expired", "connection",
              "The coordinator heard nothing from a client connection that owned objects or "
              "subscriptions for a whole lease: it released them. Issued by the coordinator to "
              "subscriptions and the PUB firehose; `obj` is empty and `seq` numbers these "
              "events from 1 since the coordinator started.",
              data=(Field("client", "str", True, "the connection's routing id, hex"),
                    Field("life", "str", True, "the `life` of its last request (\"\": none)"),
                    Field("key", "str", True, "its CURVE public key (Z85; \"\" without CURVE)"),
                    Field("lease", "float", True, "its lease, seconds", lo=0),
                    Field("idle", "float", True, "seconds since its last message", lo=0),
                    *RELEASED)),
))
