"""Who may send which client op: roles and object ownership.

* **Role.** With CURVE, a client whose key is on the read-only allow-list may send only the ops
  of ``READ_ONLY_ROLE_OPS`` (status, agents, event subscriptions, load.status); the ops of
  ``ADMIN_ROLE_OPS`` (fleet-wide settings that change other clients' calls, FATAL reports) need a
  key on the admin allow-list; any other op gets ``E_FORBIDDEN``. Without CURVE the coordinator
  only listens on loopback, and every local client is an admin.
* **Ownership.** Accounts (and their buddies), calls, media objects and load runs belong to the
  client that created them (an
  incoming call or a call made by an accepted REFER belongs to the account's owner). An op that
  names an existing object of another client gets ``E_FORBIDDEN``; ``load.status`` is exempt (a
  read). The client is its authenticated key with CURVE (a program may reconnect, or use several
  connections, with the same key) and its connection without CURVE (the routing id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.security import ADMIN, READ_ONLY, ServerKeys
from proto import ProtoError
from proto.ops import ADMIN_ROLE_OPS, READ_ONLY_ROLE_OPS, RUN_CONTROL_OPS

if TYPE_CHECKING:
    from coordinator.broker import Coordinator

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

    def seen(self, co: Coordinator, rid: bytes, user_id: str) -> None:
        """Record the authenticated identity of the connection ``rid``."""
        if self.users.get(rid) == user_id:
            return
        self.users[rid] = user_id
        if len(self.users) > MAX_KNOWN:
            owners = ({a.owner for a in co.objects.accounts.values()}
                      | {c.owner for c in co.objects.calls.values()}
                      | {r.owner for r in co.loads.values() if r.owner is not None} | {rid})
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

    def check(self, co: Coordinator, client: bytes, msg: proto.Message) -> None:
        """Raise E_FORBIDDEN when ``client`` may not send ``msg`` (a validated request)."""
        if msg.op in READ_ONLY_ROLE_OPS:
            return
        role = self.role(client)
        if role == READ_ONLY:
            raise ProtoError("E_FORBIDDEN", f"a read-only client may not send {msg.op}",
                             op=msg.op)
        if msg.op in ADMIN_ROLE_OPS and role != ADMIN:
            raise ProtoError("E_FORBIDDEN", f"{msg.op} changes the whole fleet: it needs an "
                             "admin key (the coordinator's --admin-keys)", op=msg.op)
        for owner, obj in owners_of(co, msg):
            if self.owner_principal(owner) != self.principal(client):
                raise ProtoError("E_FORBIDDEN", f"{obj} belongs to another client", obj=obj,
                                 op=msg.op)


def owners_of(co: Coordinator, msg: proto.Message) -> list[tuple[bytes, str]]:
    """The owners of the existing objects that ``msg`` acts on, with their ids (none: the op
    names no existing object; a creation with a pre-chosen id is settled by its handler)."""
    target = proto.OPS[msg.op].target
    found: list[tuple[bytes, str]] = []
    if target == "account":
        acc = co.objects.accounts.get(msg.args["acc"])
        if acc is not None:
            found.append((acc.owner, acc.gid))
    elif target == "call":
        call = co.objects.calls.get(msg.args["call"])
        if call is not None:
            found.append((call.owner, call.gid))
    elif target == "buddy":
        holder = next((a for a in co.objects.accounts.values()
                       if msg.args["buddy"] in a.buddies), None)
        if holder is not None:
            found.append((holder.owner, msg.args["buddy"]))
    elif target == "media":  # a media object, or a conference connection of two slots
        for key in ("media", "src", "dst"):
            gid = msg.args.get(key)
            media = co.objects.media.get(gid) if isinstance(gid, str) else None
            call = co.objects.calls.get(gid) if isinstance(gid, str) else None
            if media is not None:
                found.append((media.owner, media.gid))
            elif call is not None:
                found.append((call.owner, call.gid))
    elif msg.op.startswith("media.create_") and isinstance(msg.args.get("call"), str):
        call = co.objects.calls.get(msg.args["call"])  # the call it would serve
        if call is not None:
            found.append((call.owner, call.gid))
    elif msg.op in RUN_CONTROL_OPS:
        run = co.loads.get(msg.args["run"])
        if run is not None and run.owner is not None:
            found.append((run.owner, run.run))
    return found
