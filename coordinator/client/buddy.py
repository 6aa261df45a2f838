"""Buddies of the Python client, as in pjsua: ``Account.add_buddy(uri, cb)`` gives a ``Buddy``
whose presence subscription is driven with ``subscribe()`` / ``unsubscribe()``; each change of
its presence or subscription calls ``BuddyCallback.on_state()``, which reads ``buddy.info()``.

Instant messages, as pjsua routes them: ``Buddy.send_pager()`` and ``send_typing_ind()`` send
from the buddy's account to its URI, and what the account receives from the buddy's address
(a message, a typing indication) or hears about a message to it (its delivery status) goes to
the buddy's callback (``on_pager``, ``on_typing``, ``on_pager_status``) instead of the
account's. Addresses are the same when scheme, user and host (any case) are, and their ports
when both give one (a message's From is the sender's address of record, often without the port
its Contact has): display names and parameters do not count."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coordinator.client.account import Account


@dataclass
class BuddyInfo:
    """As pjsua's BuddyInfo. ``online_status`` is unknown, online or offline; ``online_text``
    its text; ``note`` and ``activity`` (unknown, away, busy) what the buddy published."""

    uri: str
    contact: str = ""
    online_status: str = "unknown"
    online_text: str = ""
    note: str = ""
    activity: str = "unknown"
    #: its presence is subscribed
    subscribed: bool = False
    #: the subscription's state: NULL, SENT, ACCEPTED, PENDING, ACTIVE, TERMINATED
    sub_state: str = "NULL"
    #: the status and reason that ended the subscription (e.g. 403 when the peer refused it)
    sub_term_code: int = 0
    sub_term_reason: str = ""


class BuddyCallback:
    """Derive from this and override ``on_state``."""

    def __init__(self, buddy: Buddy | None = None) -> None:
        self.buddy = buddy

    def _set_buddy(self, buddy: Buddy) -> None:
        self.buddy = buddy

    def on_state(self) -> None:
        """The buddy's presence or subscription changed: read ``self.buddy.info()``."""

    def on_pager(self, mime_type: str, body: str) -> None:
        """An instant message from the buddy."""

    def on_pager_status(self, body: str, im_id: int, code: int, reason: str) -> None:
        """The delivery of a message sent to the buddy (``im_id`` as given to send_pager)."""

    def on_typing(self, is_typing: bool) -> None:
        """The buddy is (or stopped) typing."""


class Buddy:
    """One buddy of an account (it lives on the account's home agent)."""

    def __init__(self, account: Account, gid: str, uri: str) -> None:
        self.account = account
        self.id = gid
        self.uri = uri
        self._cb = BuddyCallback(self)
        self._info = BuddyInfo(uri)
        self._deleted = False

    def __repr__(self) -> str:
        return f"<Buddy {self.id} {self.uri} of {self.account.id}>"

    @property
    def callback(self) -> BuddyCallback:
        return self._cb

    def set_callback(self, cb: BuddyCallback | None) -> None:
        self._cb = cb or BuddyCallback()
        self._cb._set_buddy(self)

    def is_valid(self) -> bool:
        return not self._deleted

    def subscribe(self) -> None:
        """Subscribe to the buddy's presence (SUBSCRIBE); its NOTIFYs come to ``on_state()``."""
        self._request("buddy.subscribe", {"subscribe": True})

    def unsubscribe(self) -> None:
        self._request("buddy.subscribe", {"subscribe": False})

    def delete(self) -> None:
        self._request("buddy.delete", {})
        self._deleted = True
        self.account.lib.session.buddies.pop(self.id, None)

    def send_pager(self, text: str, im_id: int = 0, content_type: str = "text/plain",
                   hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an instant message to the buddy from its account; its delivery comes to
        ``on_pager_status()`` with ``im_id``."""
        self.account.send_pager(self.uri, text, im_id, content_type, hdr_list)

    def send_typing_ind(self, is_typing: bool = True,
                        hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Tell the buddy that its account is (or stopped) typing."""
        self.account.send_typing_ind(self.uri, is_typing, hdr_list)

    def info(self, refresh: bool = False) -> BuddyInfo:
        """The buddy as its events last described it; ``refresh=True`` asks its agent."""
        if refresh:
            self._update(self._request("buddy.info", {}))
        return BuddyInfo(**vars(self._info))

    def _request(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.account.lib.session.request(op, dict(args, buddy=self.id), obj=self.id)

    def _update(self, d: dict[str, Any]) -> None:
        i = self._info
        i.uri, i.contact, i.online_status = d["uri"], d["contact"], d["status"]
        i.online_text, i.note, i.activity = d["status_text"], d["note"], d["activity"]
        i.subscribed, i.sub_state = d["monitoring"], d["sub_state"]
        i.sub_term_code, i.sub_term_reason = d["sub_code"], d["sub_reason"]

    def on_state(self, data: dict[str, Any]) -> None:
        """Its acc.buddy_state event (on the callback thread): new presence, then the
        callback."""
        self._update(data)
        self._cb.on_state()


_ADDRESS = re.compile(r"(?P<scheme>sips?):(?:(?P<user>[^@;?>]*)@)?(?P<host>\[[^\]]+\]|[^:;?>]+)"
                      r"(?::(?P<port>\d+))?", re.IGNORECASE)


def address(uri: str) -> tuple[str, str, str, int | None] | None:
    """A SIP URI's scheme, user, host and port (None: not given); None: not a SIP URI."""
    bare = uri.rsplit("<", 1)[-1] if "<" in uri else uri
    m = _ADDRESS.search(bare.strip())
    if m is None:
        return None
    return (m["scheme"].lower(), m["user"] or "", m["host"].lower(),
            int(m["port"]) if m["port"] else None)


def same_address(a: str, b: str) -> bool:
    """Whether two URIs name the same party (ports compared when both give one)."""
    x, y = address(a), address(b)
    if x is None or y is None or x[:3] != y[:3]:
        return False
    return x[3] is None or y[3] is None or x[3] == y[3]
