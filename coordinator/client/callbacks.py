"""The callback classes of accounts and calls, as pjsua's: derive and override what you need."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from coordinator.client.account import Account
    from coordinator.client.call import Call


class AccountCallback:
    """Derive from this and override what you need."""

    def __init__(self, account: Account | None = None) -> None:
        self.account = account

    def set_account(self, account: Account) -> None:
        """Called by the account this callback is given to."""
        self.account = account

    def on_incoming_call(self, call: Call) -> None:
        """A call arrived. Unless the account auto-answers, the default rejects it with 486."""
        if self.account is None or self.account.auto_answer is None:
            call.hangup(486, "Busy Here")

    def on_moved(self) -> None:
        """The account's agent was lost or shut down and the account now lives on another
        agent: ``self.account.agent`` and ``.contact`` are the new ones."""

    def on_reg_state(self) -> None:
        """A REGISTER completed or failed: read ``self.account.info()`` (``reg_status``,
        ``reg_reason``, ``reg_active``, ``reg_expires``)."""

    def on_pager(self, from_uri: str, contact: str, mime_type: str, body: str) -> None:
        """An instant message arrived for the account (outside any call)."""

    def on_pager_status(self, to_uri: str, body: str, im_id: int, code: int, reason: str) -> None:
        """The delivery report of ``send_pager``: ``code`` 200/202 means delivered."""

    def on_typing(self, from_uri: str, contact: str, is_typing: bool) -> None:
        """A typing indication arrived for the account."""

    def on_mwi_info(self, waiting: bool, voice_new: int, voice_old: int, body: str,
                    state: str) -> None:
        """A message waiting indication arrived (the account's ``mwi`` subscription, or an
        unsolicited NOTIFY: ``state`` NULL): messages waiting or not, new and old voice
        messages, and the message-summary body as received."""

    def on_incoming_subscribe(self, from_uri: str, code: int) -> None:
        """A watcher subscribed to the account's presence; the account's policy (set in
        advance, ``Account.set_policy(subscribe=...)``) answered ``code`` (200: accepted)."""


class CallCallback:
    def __init__(self, call: Call | None = None) -> None:
        self.call = call

    def set_call(self, call: Call) -> None:
        """Called by the call this callback is given to."""
        self.call = call

    def on_state(self) -> None:
        """The call's state changed: read it with ``self.call.info()``."""

    def on_media_state(self) -> None:
        """The call's media changed (active, hold, none)."""

    def on_dtmf_digit(self, digits: str) -> None:
        """DTMF arrived (one call per digit, RFC 2833 or SIP INFO; ``self.call.info()`` keeps
        every digit received in ``dtmf``)."""

    def on_transfer_request(self, dst: str, code: int) -> None:
        """The peer asked this call to transfer to ``dst``; the account's policy (set in
        advance, ``Account.set_policy``) answered ``code`` (202: accepted). When accepted,
        ``self.call.transfer_call`` is the new call: give it a callback here to follow it."""

    def on_call_redirected(self, target: str, decision: str) -> None:
        """The call's INVITE got a 3xx answer redirecting it to ``target``; the account's
        policy (``Account.set_policy(redirect=...)``) decided ``decision``: ``"follow"`` (the
        call goes on to ``target``) or ``"stop"`` (the default: the call ends with the 3xx
        code)."""

    def on_transfer_status(self, code: int, reason: str, final: bool, cont: bool) -> None:
        """Progress of ``Call.transfer()``: the transferee's new call (100, 180, 200, or a
        failure); ``final`` marks the last report. ``cont`` is always True (reports continue
        until the final one)."""

    def on_replace_request(self, code: int, from_uri: str) -> None:
        """An INVITE with Replaces from ``from_uri`` (an attended transfer) named this call; the
        account's policy (``Account.set_policy(replaces=...)``) answered ``code`` (200:
        accepted, and ``on_replaced()`` follows)."""

    def on_replaced(self, new_call: Call) -> None:
        """``new_call`` (answered at once) takes this call's place, which then ends: give it
        a callback here to follow it."""

    def on_pager(self, mime_type: str, body: str) -> None:
        """An instant message arrived inside the call."""

    def on_pager_status(self, body: str, im_id: int, code: int, reason: str) -> None:
        """The delivery report of ``Call.send_pager``."""

    def on_typing(self, is_typing: bool) -> None:
        """The peer started or stopped typing."""
