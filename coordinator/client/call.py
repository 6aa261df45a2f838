"""Calls of the client, as pjsua's: ``Call`` (answer, hang up, hold, DTMF, messages, transfer,
information, statistics) and what its events do (``call.*``, to its ``CallCallback``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import proto
from coordinator.client.callbacks import CallCallback
from coordinator.client.dispatch import handles
from coordinator.client.errors import Error

if TYPE_CHECKING:
    from coordinator.client.account import Account
    from coordinator.client.lib import Lib


@dataclass
class CallInfo:
    """As pjsua's CallInfo; ``state`` is the state name (CALLING ... DISCONNECTED)."""

    state: str = "NULL"
    state_text: str = "NULL"
    role: str = ""
    remote_uri: str = ""
    uri: str = ""
    #: an incoming call's Request-URI: the address it was made to (a SIP front's, when the
    #: call came through one)
    request_uri: str = ""
    sip_call_id: str = ""
    last_code: int = 0
    last_reason: str = ""
    media_state: str = "NONE"
    media_dir: str = "none"
    #: every DTMF digit received so far, in order
    dtmf: str = ""
    #: the negotiated audio codec, e.g. PCMU/8000 (from ``info(refresh=True)``)
    codec: str = ""
    #: the audio stream's transport: RTP/AVP, RTP/SAVP (SRTP) or UDP/TLS/RTP/SAVP (DTLS-SRTP)
    #: (from ``info(refresh=True)``)
    media_proto: str = ""
    #: audio streams in use: more than one when the call was made or answered with
    #: ``audio_count`` (from ``info(refresh=True)``)
    audio_streams: int = 0
    #: this side's and the peer's Contact (from ``info(refresh=True)``): ``;transport=tcp``
    #: names a TCP (or TLS) transport
    contact: str = ""
    remote_contact: str = ""
    call_time: float = 0.0
    total_time: float = 0.0
    agent: str = ""
    account: str = ""
    #: what conf_connect takes for this call's audio (the call id; see coordinator.media)
    conf_slot: str = ""


@dataclass
class CallStats:
    """RTP statistics of a call's audio stream (``Call.stats()``; see ``call.stats``)."""

    codec: str
    duration_s: float
    tx_packets: int
    tx_bytes: int
    rx_packets: int
    rx_bytes: int
    rx_loss: int
    rx_loss_pct: float
    rx_dup: int
    rx_reorder: int
    jitter_ms: float
    tx_loss: int
    peer_jitter_ms: float
    rtt_ms: float
    mos: float


class Call:
    def __init__(self, lib: Lib, gid: str, account: Account | None, role: str,
                 agent: str = "") -> None:
        self.lib = lib
        self.id = gid
        self.account = account
        self.agent = agent
        self._cb: CallCallback = CallCallback(self)
        self._info = CallInfo(role=role, agent=agent, account=account.id if account else "",
                              uri=account.uri if account else "", conf_slot=gid)
        self._ended = threading.Event()
        #: the call this one made because the peer transferred it (see on_transfer_request)
        self.transfer_call: Call | None = None
        #: the call that replaced this one (attended transfer, see on_replaced)
        self.replaced_by: Call | None = None

    def __repr__(self) -> str:
        return f"<Call {self.id} {self._info.state} on {self.agent}>"

    def set_callback(self, cb: CallCallback | None) -> None:
        self._cb = cb or CallCallback()
        self._cb.set_call(self)

    def is_valid(self) -> bool:
        return not self._ended.is_set()

    def wait_ended(self, timeout: float) -> bool:
        """Block until the call is DISCONNECTED (True) or ``timeout`` passes (False)."""
        return self._ended.wait(timeout)

    def answer(self, code: int = 200, reason: str = "",
               hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        self._op("call.answer", code, reason, hdr_list)

    def hangup(self, code: int = 0, reason: str = "",
               hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Hang up, reject (with ``code``) or cancel. Code 0 lets PJSIP pick (603/487/BYE)."""
        self._op("call.hangup", code or None, reason, hdr_list)

    def hold(self, hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Put the call on hold; ``on_media_state()`` reports LOCAL_HOLD (the peer REMOTE_HOLD)."""
        self._op("call.hold", None, "", hdr_list)

    def unhold(self, hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Release the hold; ``on_media_state()`` reports ACTIVE on both sides."""
        self._op("call.unhold", None, "", hdr_list)

    def reinvite(self, hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send a re-INVITE with a new offer (keeps the hold state; ``unhold()`` releases it)."""
        self._op("call.reinvite", None, "", hdr_list)

    def update(self, hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an UPDATE with a new offer (keeps the hold state)."""
        self._op("call.update", None, "", hdr_list)

    def dial_dtmf(self, digits: str, method: str = "rfc2833") -> None:
        """Send DTMF ``digits`` (0-9 * # A-D) by ``method``: ``rfc2833`` (RTP telephone-events)
        or ``info`` (SIP INFO); the peer's ``on_dtmf_digit()`` gets each one."""
        self.lib.session.request("call.dial_dtmf", {"call": self.id, "digits": digits, "method": method},
                          obj=self.id)

    def send_pager(self, text: str, im_id: int = 0, content_type: str = "text/plain",
                   hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an instant message inside the call; the delivery code comes to
        ``on_pager_status()`` with ``im_id``."""
        args: dict[str, Any] = {"call": self.id, "text": text, "im_id": im_id,
                                "content_type": content_type}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("call.send_pager", args, obj=self.id)

    def send_typing_ind(self, is_typing: bool = True,
                        hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Tell the peer that we are (or stopped) typing."""
        args: dict[str, Any] = {"call": self.id, "is_typing": is_typing}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("call.send_typing_ind", args, obj=self.id)

    def stats(self) -> CallStats:
        """RTP statistics of the call's audio (packets, loss, jitter, RTT) and a MOS estimate,
        asked of the agent now. E_WRONG_STATE before the call has media."""
        r = self.lib.session.request("call.stats", {"call": self.id}, obj=self.id)
        return CallStats(**{k: r[k] for k in CallStats.__dataclass_fields__})

    def transfer(self, dest_uri: str,
                 hdr_list: list[tuple[str, str]] | dict[str, str] | None = None,
                 refer_sub: bool = True) -> None:
        """Blind transfer (REFER) to ``dest_uri``; progress comes to ``on_transfer_status()``.
        The call stays up: hang it up once the transfer succeeded (or not). ``refer_sub``
        False: no progress reports (Refer-Sub: false), one final 200 once the peer accepts."""
        args: dict[str, Any] = {"call": self.id, "uri": dest_uri}
        if refer_sub is not True:  # the default is not sent; any other value is checked
            args["refer_sub"] = refer_sub
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("call.transfer", args, obj=self.id)

    def transfer_to_call(self, call: Call,
                         hdr_list: list[tuple[str, str]] | dict[str, str] | None = None,
                         refer_sub: bool = True) -> None:
        """Attended transfer: ask this call's peer to call ``call``'s remote party with
        Replaces, taking ``call``'s place (both calls answered, of this client's accounts on one
        agent). Progress comes to ``on_transfer_status()``; hang this call up after it.
        ``refer_sub``: as for transfer()."""
        args: dict[str, Any] = {"call": self.id, "dest_call": call.id}
        if refer_sub is not True:  # the default is not sent; any other value is checked
            args["refer_sub"] = refer_sub
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("call.transfer_replaces", args, obj=self.id)

    def _op(self, op: str, code: int | None, reason: str,
            hdr_list: list[tuple[str, str]] | dict[str, str] | None) -> None:
        args: dict[str, Any] = {"call": self.id}
        if code is not None:
            args["code"] = code
        if reason:
            args["reason"] = reason
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request(op, args, obj=self.id)

    def info(self, refresh: bool = False) -> CallInfo:
        """The call as its events last described it (what callbacks expect to read).

        ``refresh=True`` asks the agent (durations, media) while the call lives. A call the
        fleet no longer knows has ended without this client hearing it (its end was lost with a
        coordinator, say): it is DISCONNECTED, and its callback is told so, as by its event.
        """
        if refresh and self.is_valid():
            try:
                r = self.lib.session.request("call.info", {"call": self.id}, obj=self.id)
            except Error as exc:
                if exc.err_code != "E_NOT_FOUND":
                    raise
                self._gone()
            else:
                i = self._info
                i.state = i.state_text = r["state"]
                i.role, i.remote_uri, i.uri = r["role"], r["remote_uri"], r["local_uri"]
                i.sip_call_id, i.last_code, i.last_reason = r["call_id"], r["code"], r["reason"]
                i.call_time, i.total_time, i.media_state = r["connect_s"], r["total_s"], r["media"]
                i.codec, i.media_proto = r["codec"], r.get("media_proto", "")
                i.audio_streams = r.get("audio_streams", 0)
                i.contact, i.remote_contact = r["local_contact"], r["remote_contact"]
        return CallInfo(**vars(self._info))

    def _gone(self) -> None:
        """The fleet no longer knows the call: its DISCONNECTED, delivered as an event would
        be (on the callback thread; ``seq`` 0 is not numbered)."""
        i = self._info
        self.lib.session.events.put(proto.evt("call.state", self.id, 0, {
            "state": "DISCONNECTED", "code": 0, "reason": "gone: the fleet no longer knows it",
            "remote_uri": i.remote_uri, "call_id": i.sip_call_id, "role": i.role}))
        i.state = i.state_text = "DISCONNECTED"

    def learn(self, **fields: Any) -> None:
        """Take in what is known of the call before its events tell it (its account's side:
        the URI dialled, the agent it was placed on, an incoming call's caller)."""
        for name, value in fields.items():
            setattr(self._info, name, value)


# -- its events, on the callback thread --------------------------------------------------------
@handles("call.state", "calls")
def _state(call: Call, d: dict[str, Any]) -> None:
    i = call._info
    if d.get("adopted") and d["state"] == i.state:
        # a restarted coordinator re-adopted the call and tells its current state: a state this
        # client saw already calls no callback a second time
        i.last_code, i.last_reason = d["code"], d["reason"]
        return
    i.state = i.state_text = d["state"]
    i.last_code, i.last_reason = d["code"], d["reason"]
    i.remote_uri = d["remote_uri"] or i.remote_uri
    i.sip_call_id = d["call_id"] or i.sip_call_id
    i.role = d["role"] or i.role
    try:
        call._cb.on_state()
    finally:
        if i.state == "DISCONNECTED":
            call._ended.set()
            call.lib.session.calls.pop(call.id, None)


@handles("call.media_state", "calls")
def _media_state(call: Call, d: dict[str, Any]) -> None:
    call._info.media_state, call._info.media_dir = d["media"], d["dir"]
    call._cb.on_media_state()


@handles("call.dtmf", "calls")
def _dtmf(call: Call, d: dict[str, Any]) -> None:
    call._info.dtmf += d["digit"]
    call._cb.on_dtmf_digit(d["digit"])


@handles("call.transfer_request", "calls")
def _transfer_request(call: Call, d: dict[str, Any]) -> None:
    if d["new_call"]:
        new = Call(call.lib, d["new_call"], call.account, role="caller", agent=d["agent"])
        new.learn(remote_uri=d["uri"])
        call.lib.session.calls[new.id] = new
        call.transfer_call = new
    call._cb.on_transfer_request(d["uri"], d["code"])


@handles("call.replace_request", "calls")
def _replace_request(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_replace_request(d["code"], d["from_uri"])
    if d["new_call"]:
        new = Call(call.lib, d["new_call"], call.account, role="callee", agent=d["agent"])
        call.lib.session.calls[new.id] = new
        call.replaced_by = new
        call._cb.on_replaced(new)


@handles("call.redirected", "calls")
def _redirected(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_call_redirected(d["target"], d["decision"])


@handles("call.transfer_status", "calls")
def _transfer_status(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_transfer_status(d["code"], d["reason"], d["final"], True)


@handles("call.pager", "calls")
def _pager(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_pager(d["mime"], d["body"])


@handles("call.pager_status", "calls")
def _pager_status(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_pager_status(d["body"], d["im_id"], d["code"], d["reason"])


@handles("call.typing", "calls")
def _typing(call: Call, d: dict[str, Any]) -> None:
    call._cb.on_typing(d["is_typing"])
