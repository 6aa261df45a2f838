"""Who may send which client op: roles and object ownership.

* **Role.** Each op's spec says which roles may send it (``OpSpec.roles``): with CURVE, a
  client whose key is on the read-only allow-list may send only reads (status, agents, event
  subscriptions, load.status); the ops that change other clients' calls or report on the fleet
  (codec priorities, FATAL reports) need a key on the admin allow-list; any other op gets
  ``E_FORBIDDEN``. Without CURVE the coordinator only listens on loopback, and every local
  client is an admin.
* **Ownership.** Accounts (and their buddies), calls, media objects and load runs belong to the
  client that created them (an incoming call or a call made by an accepted REFER belongs to the
  account's owner). An op whose arguments named in ``OpSpec.owned`` name an existing object of
  another client gets ``E_FORBIDDEN``; ``load.status`` is exempt (a read). The client is its
  authenticated key with CURVE (a program may reconnect, or use several connections, with the
  same key) and its connection without CURVE (the routing id).
* **Persistent objects.** An object created ``persistent`` outlives its owner's lease; an admin
  may act on it (delete it, hang it up, ...) whoever owns it, and take it over
  (``client.adopt``). Other clients' objects that are not persistent stay out of an admin's
  reach: they end with their owner's lease.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import proto
from coordinator.server.security import ADMIN, READ_ONLY, ServerKeys
from proto import ProtoError

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator

#: routing ids remembered before the ones that own nothing are forgotten
MAX_KNOWN = 1024


class Access:
    """The coordinator's access rules; ``keys`` None: no CURVE (everyone full, per connection)."""

    def __init__(self, keys: ServerKeys | None) -> None:
        self.keys = keys
        #: routing id -> authenticated User-Id (the client's Z85 public key), CURVE only
        self.users: dict[bytes, str] = {}
        #: routing id -> the key that owned the objects a restarted coordinator adopted under
        #: that id (their agents kept it): only that key may act on them
        self.claimed: dict[bytes, str] = {}

    def seen(self, server: Coordinator, rid: bytes, user_id: str) -> None:
        """Record the authenticated identity of the connection ``rid``."""
        if self.users.get(rid) == user_id:
            return
        self.users[rid] = user_id
        if len(self.users) > MAX_KNOWN:
            owners = ({a.owner for a in server.objects.accounts.values()}
                      | {c.owner for c in server.objects.calls.values()}
                      | {r.owner for r in server.loads.values() if r.owner is not None} | {rid})
            self.users = {k: v for k, v in self.users.items() if k in owners}

    def principal(self, rid: bytes) -> bytes:
        """The client ``rid`` stands for: its key with CURVE, the connection itself without."""
        user = self.users.get(rid)
        return b"key:" + user.encode() if user is not None else rid

    def owner_principal(self, owner: bytes) -> bytes:
        """The client an object's owner stands for: as ``principal``, but an adopted object's
        owner is the key its agent kept (a connection that reuses the routing id with another
        key is not its owner)."""
        key = self.claimed.get(owner)
        return b"key:" + key.encode() if key else self.principal(owner)

    def owner_args(self, rid: bytes) -> dict[str, str]:
        """What an agent keeps about the owner of an object it creates (agent args ``owner``,
        ``owner_key``), for a restarted coordinator to give the object back (section 9)."""
        key = self.users.get(rid) or self.claimed.get(rid)
        return {"owner": rid.hex(), "owner_key": key} if key else {"owner": rid.hex()}

    def claim(self, rid: bytes, key: str) -> None:
        """An adopted object belongs to ``rid`` under ``key`` (CURVE; "" without)."""
        if key and self.keys is not None:
            self.claimed[rid] = key

    def role(self, rid: bytes) -> str:
        if self.keys is None:
            return ADMIN
        return self.keys.role(self.users.get(rid, ""))

    def check(self, server: Coordinator, client: bytes, msg: proto.Message) -> None:
        """Raise E_FORBIDDEN when ``client`` may not send ``msg`` (a validated request)."""
        spec = proto.OPS[msg.op]
        role = self.role(client)
        if role not in spec.roles:
            if role == READ_ONLY:
                raise ProtoError("E_FORBIDDEN", f"a read-only client may not send {msg.op}",
                                 op=msg.op)
            raise ProtoError("E_FORBIDDEN", f"{msg.op} acts for the whole fleet: it needs an "
                             "admin key (the coordinator's --admin-keys)", op=msg.op)
        if READ_ONLY in spec.roles:
            return  # a read: names no object it could harm
        if role == ADMIN and spec.group == "load":
            return  # an operator steers any load run (callfleet rate / stop)
        for owner, obj, persistent in owners_of(server, msg):
            if persistent and role == ADMIN:
                continue  # an admin looks after what outlives its creator
            if self.owner_principal(owner) != self.principal(client):
                raise ProtoError("E_FORBIDDEN", f"{obj} belongs to another client", obj=obj,
                                 op=msg.op)


def owners_of(server: Coordinator, msg: proto.Message) -> list[tuple[bytes, str, bool]]:
    """The owners of the existing objects that ``msg`` acts on (its spec's ``owned``
    arguments), with their ids and whether they are persistent (none: the op names no existing
    object; a creation with a pre-chosen id is settled by its route)."""
    found: list[tuple[bytes, str, bool]] = []
    for arg in proto.OPS[msg.op].owned:
        gid = msg.args.get(arg)
        if isinstance(gid, str):
            rec = _record(server, arg, gid)
            if rec is not None and rec.owner is not None:
                found.append((rec.owner, gid, bool(getattr(rec, "persistent", False))))
    return found


def _record(server: Coordinator, arg: str, gid: str) -> Any:
    """The object an argument names: an account, a buddy's account, a load run, or a call or
    media object (``media``, ``src``, ``dst``: either kind); None when there is none."""
    if arg == "acc":
        return server.objects.accounts.get(gid)
    if arg == "buddy":
        return next((a for a in server.objects.accounts.values() if gid in a.buddies), None)
    if arg == "run":
        return server.loads.get(gid)
    media = server.objects.media.get(gid) if arg != "call" and arg != "dest_call" else None
    return media if media is not None else server.objects.calls.get(gid)
