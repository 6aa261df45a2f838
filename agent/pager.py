"""Instant messages (SIP MESSAGE) and typing indications: sending them from an account or a call,
and matching each delivery report to the ``im_id`` the client chose.

pjsua2's per-message token cannot carry a number from Python, so reports are matched by body,
in sending order (pjsua reports the body of the message each report is about).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from typing import Any

import pjsua2 as pj

from agent.headers import header_vector
from proto import limits

#: pending reports kept per account or call at most (older ones are forgotten)
MAX_PENDING = 256


class PagerBook:
    """The im_ids of the messages an account or call sent and not yet heard about."""

    def __init__(self) -> None:
        self._pending: collections.OrderedDict[str, collections.deque[int]] = (
            collections.OrderedDict())
        self._count = 0
        #: the body being sent right now: a report during the send is pjsua's own report of a
        #: send that failed at once (the request's error reply says so; no event)
        self.sending: str | None = None

    def reports(self, body: str) -> bool:
        """Whether a delivery report about ``body`` is an event (not a failed send's echo)."""
        return self.sending != body

    def sent(self, body: str, im_id: int) -> None:
        self._pending.setdefault(body, collections.deque()).append(im_id)
        self._count += 1
        while self._count > MAX_PENDING:
            oldest = next(iter(self._pending.values()))
            oldest.popleft()
            self._count -= 1
            self._drop_empty()

    def done(self, body: str) -> int:
        """The im_id of the oldest pending message with this body (0 if none)."""
        ids = self._pending.get(body)
        if not ids:
            return 0
        self._count -= 1
        im_id = ids.popleft()
        self._drop_empty()
        return im_id

    def _drop_empty(self) -> None:
        for body in [b for b, ids in self._pending.items() if not ids]:
            del self._pending[body]


@contextlib.contextmanager
def sending(book: PagerBook, body: str) -> Iterator[None]:
    """While ``body`` is being sent (a report now is pjsua's echo of a failed send)."""
    book.sending = body
    try:
        yield
    finally:
        book.sending = None


def _tx_option(headers: dict[str, str] | None) -> Any:
    opt = pj.SipTxOption()
    opt.headers = header_vector(headers)
    return opt


def message_param(text: str, content_type: str | None, headers: dict[str, str] | None) -> Any:
    prm = pj.SendInstantMessageParam()
    prm.contentType = content_type or "text/plain"
    prm.content = text
    prm.txOption = _tx_option(headers)
    return prm


def typing_param(is_typing: bool, headers: dict[str, str] | None) -> Any:
    prm = pj.SendTypingIndicationParam()
    prm.isTyping = is_typing
    prm.txOption = _tx_option(headers)
    return prm


def send_to_uri(acc: Any, uri: str, prm: Any, typing: bool) -> None:
    """Send a MESSAGE (or typing indication) from ``acc`` to ``uri`` outside any call.

    pjsua2 sends these only through a Buddy: a transient one, not subscribed, that is deleted
    here at once (pjsua needs nothing of it once the request is sent; its report goes to the
    account)."""
    cfg = pj.BuddyConfig()
    cfg.uri = uri
    cfg.subscribe = False
    buddy = pj.Buddy()
    try:
        buddy.create(acc, cfg)
        if typing:
            buddy.sendTypingIndication(prm)
        else:
            buddy.sendInstantMessage(prm)
    finally:
        del buddy  # ~Buddy removes it from pjsua now


def clip(text: str) -> str:
    """A received body, cut to what an event may carry (a received SIP message is at most
    MAX_SIP_MESSAGE bytes: only a body of non-ASCII text is ever cut)."""
    return text if len(text) <= limits.MAX_SIP_MESSAGE else text[:limits.MAX_SIP_MESSAGE]
