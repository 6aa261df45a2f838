"""The Python client. It mirrors the classic pjsua module: ``Lib``, ``Account``, ``Call``, the
callback classes and ``Error``; operations that involve SIP are asynchronous and their outcome
arrives as callbacks, delivered on the client's callback thread.

    lib = Lib.start_local(agents=2)           # or Lib.connect("tcp://127.0.0.1:5601")
    acc = lib.create_account("sip:alice@127.0.0.1", cb=MyAccountCallback())
    call = acc.make_call("sip:bob@127.0.0.1:5062", cb=MyCallCallback())
    ...
    lib.destroy()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import proto
from coordinator.buddy import Buddy, BuddyCallback
from coordinator.buddy import BuddyInfo as BuddyInfo
from coordinator.fleet import LocalFleet
from coordinator.media import MediaLib
from coordinator.seqwatch import SeqWatch
from coordinator.sip_transports import Transport
from coordinator.sip_transports import TransportInfo as TransportInfo
from coordinator.transport import Connection
from proto import ProtoError
from proto.curve import ClientKeys, KeyFileError

log = logging.getLogger("callfleet.client")


class Error(Exception):
    """An operation failed: which object, which operation, the stable code and the message.

    ``err_code`` is the symbolic code (``E_NO_CAPACITY``, ``E_PJSIP``, ...); ``status`` is
    PJSIP's pj_status_t when PJSIP produced the error, else 0.
    """

    def __init__(self, obj_name: str, op_name: str, err_code: str, err_msg: str,
                 status: int = 0) -> None:
        super().__init__(f"{obj_name or '-'}.{op_name}: {err_code}: {err_msg}")
        self.obj_name = obj_name
        self.op_name = op_name
        self.err_code = err_code
        self.err_msg = err_msg
        self.status = status


class AccountCallback:
    """Derive from this and override what you need."""

    def __init__(self, account: Account | None = None) -> None:
        self.account = account

    def _set_account(self, account: Account) -> None:
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

    def on_incoming_subscribe(self, from_uri: str, code: int) -> None:
        """A watcher subscribed to the account's presence; the account's policy (set in
        advance, ``Account.set_policy(subscribe=...)``) answered ``code`` (200: accepted)."""


class CallCallback:
    def __init__(self, call: Call | None = None) -> None:
        self.call = call

    def _set_call(self, call: Call) -> None:
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


@dataclass
class AccountInfo:
    """As pjsua's AccountInfo: the registration fields come from the last acc.reg_state."""

    uri: str
    agent: str
    contact: str
    reg_active: bool = False
    reg_expires: int = 0
    reg_status: int = 0
    reg_reason: str = ""
    #: PJSIP's pj_status_t of the last registration attempt (0: success)
    reg_last_err: int = 0


class AccountConfig:
    """As pjsua's AccountConfig: identity, registrar, outbound proxy and digest credentials.

    ``AccountConfig("example.org", "alice", "pw", registrar="sip:example.org")`` gives the id
    ``sip:alice@example.org``; ``id`` sets the id URI directly. The password is sent to the
    coordinator once and is never shown (not even by ``repr``).
    """

    def __init__(self, domain: str = "", username: str = "", password: str = "", display: str = "",
                 registrar: str = "", proxy: str = "", *, id: str = "", realm: str = "*",
                 reg_timeout: int | None = None, auto_answer: int | None = None) -> None:
        uri = id or (f"sip:{username}@{domain}" if username else f"sip:{domain}")
        self.id = f'"{display}" <{uri}>' if display and not id else uri
        self.reg_uri = registrar
        self.proxy = proxy
        self.username = username
        self.password = password
        self.realm = realm
        self.reg_timeout = reg_timeout
        self.auto_answer = auto_answer

    def __repr__(self) -> str:
        return f"<AccountConfig {self.id} registrar={self.reg_uri or '-'} proxy={self.proxy or '-'}>"

    def args(self) -> dict[str, Any]:
        """The acc.create arguments."""
        out: dict[str, Any] = {"uri": self.id}
        for key, value in (("registrar", self.reg_uri), ("proxy", self.proxy),
                           ("username", self.username), ("expires", self.reg_timeout),
                           ("auto_answer", self.auto_answer)):
            if value:
                out[key] = value
        if self.username:
            out["password"] = self.password
            if self.realm and self.realm != "*":
                out["realm"] = self.realm
        return out


@dataclass
class CallInfo:
    """As pjsua's CallInfo; ``state`` is the state name (CALLING ... DISCONNECTED)."""

    state: str = "NULL"
    state_text: str = "NULL"
    role: str = ""
    remote_uri: str = ""
    uri: str = ""
    sip_call_id: str = ""
    last_code: int = 0
    last_reason: str = ""
    media_state: str = "NONE"
    media_dir: str = "none"
    #: every DTMF digit received so far, in order
    dtmf: str = ""
    #: the negotiated audio codec, e.g. PCMU/8000 (from ``info(refresh=True)``)
    codec: str = ""
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


class Account:
    def __init__(self, lib: Lib, gid: str, uri: str, agent: str, contact: str,
                 auto_answer: int | None) -> None:
        self.lib = lib
        self.id = gid
        self.uri = uri
        self.agent = agent
        self.contact = contact
        self.auto_answer = auto_answer
        self._cb: AccountCallback = AccountCallback(self)
        self._info = AccountInfo(uri, agent, contact)
        self._buddies: dict[str, Buddy] = {}
        #: the agents that hold the account (several with replicas="all")
        self.replicas: list[str] = [agent] if agent else []

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.uri} on {self.agent}>"

    def set_callback(self, cb: AccountCallback | None) -> None:
        self._cb = cb or AccountCallback()
        self._cb._set_account(self)

    def info(self) -> AccountInfo:
        """The account as its events last described it (registration state included)."""
        i = self._info
        i.uri, i.agent, i.contact = self.uri, self.agent, self.contact
        return AccountInfo(**vars(i))

    def set_registration(self, renew: bool = True) -> None:
        """Register again (``renew=True``) or unregister; the outcome comes to
        ``on_reg_state()``. Only for an account created with a registrar."""
        self.lib._request("acc.set_registration", {"acc": self.id, "renew": renew}, obj=self.id)

    def modify(self, acc_config: AccountConfig) -> None:
        """Replace the account's registrar, proxy, credentials and expiry with those of
        ``acc_config`` (as pjsua's ``Account.modify``; settings it lacks are unset). Its id must
        be the account's. On every agent that holds the account; when the registration
        changes, the new outcome comes to ``on_reg_state()``."""
        args = acc_config.args()
        if args.pop("uri") != self.uri:
            raise Error(self.id, "acc.modify", "E_BAD_ARGS",
                        f"the id URI {acc_config.id!r} is not the account's ({self.uri!r})")
        args.pop("auto_answer", None)
        self.lib._request("acc.modify", {"acc": self.id, **args}, obj=self.id)

    def set_policy(self, transfer: str | None = None, transfer_code: int | None = None,
                   subscribe: str | None = None, subscribe_code: int | None = None,
                   replaces: str | None = None, replaces_code: int | None = None,
                   redirect: str | None = None) -> None:
        """Decide in advance what the account answers to requests that pjsua settles inside a
        callback, each ``"accept"`` or ``"reject"`` with a code: an incoming REFER
        (``transfer``: rejected with 603 unless the account opts in with ``"accept"``), a
        presence SUBSCRIBE (``subscribe``: accepted by default, else 403), an INVITE with
        Replaces (``replaces``: accepted by default, else 603); and what its outgoing calls do with a 3xx
        answer: ``redirect="follow"`` or ``"stop"`` (the default, as pjsua2), reported to
        ``CallCallback.on_call_redirected()``. Arguments left out keep their value."""
        given = {"transfer": transfer, "transfer_code": transfer_code, "subscribe": subscribe,
                 "subscribe_code": subscribe_code, "replaces": replaces,
                 "replaces_code": replaces_code, "redirect": redirect}
        self.lib._request("acc.set_policy", {"acc": self.id, **{
            k: v for k, v in given.items() if v is not None}}, obj=self.id)

    def add_buddy(self, uri: str, cb: BuddyCallback | None = None,
                  subscribe: bool = False) -> Buddy:
        """A buddy to watch; ``subscribe=True`` (or ``buddy.subscribe()``) subscribes to its
        presence, whose changes come to ``cb.on_state()``."""
        gid = self.lib._conn.next_id("b")
        buddy = Buddy(self, gid, uri)
        buddy.set_callback(cb)
        self._buddies[gid] = buddy
        try:
            self.lib._request("acc.add_buddy", {"acc": self.id, "uri": uri, "buddy": gid,
                                                "subscribe": subscribe}, obj=gid)
        except Error:
            self._buddies.pop(gid, None)
            raise
        return buddy

    def set_basic_status(self, is_online: bool) -> None:
        """Publish online or offline to every accepted watcher."""
        self.set_presence_status(is_online)

    def set_presence_status(self, is_online: bool, activity: str = "unknown",
                            pres_text: str = "") -> None:
        """Publish online/offline, an activity (unknown, away, busy) and a note to every
        accepted watcher (NOTIFY)."""
        args: dict[str, Any] = {"acc": self.id, "online": is_online, "activity": activity}
        if pres_text:
            args["note"] = pres_text
        self.lib._request("acc.set_presence", args, obj=self.id)

    def send_pager(self, uri: str, text: str, im_id: int = 0, content_type: str = "text/plain",
                   hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an instant message to ``uri``; its delivery code comes to ``on_pager_status()``
        with ``im_id``."""
        args: dict[str, Any] = {"acc": self.id, "uri": uri, "text": text, "im_id": im_id,
                                "content_type": content_type}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("acc.send_pager", args, obj=self.id)

    def send_typing_ind(self, uri: str, is_typing: bool = True,
                        hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Tell ``uri`` that this account is (or stopped) typing."""
        args: dict[str, Any] = {"acc": self.id, "uri": uri, "is_typing": is_typing}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("acc.send_typing_ind", args, obj=self.id)

    # events, on the callback thread
    def _on_event(self, msg: proto.Message) -> None:
        d, i = msg.data, self._info
        if msg.op == "acc.reg_state":
            i.reg_status, i.reg_reason, i.reg_active = d["code"], d["reason"], d["active"]
            i.reg_expires, i.reg_last_err = d["expires"], d["status"]
            self._cb.on_reg_state()
        elif msg.op == "acc.pager":
            self._cb.on_pager(d["from_uri"], d["contact"], d["mime"], d["body"])
        elif msg.op == "acc.pager_status":
            self._cb.on_pager_status(d["to_uri"], d["body"], d["im_id"], d["code"], d["reason"])
        elif msg.op == "acc.typing":
            self._cb.on_typing(d["from_uri"], d["contact"], d["is_typing"])
        elif msg.op == "acc.buddy_state":
            buddy = self._buddies.get(d["buddy"])
            if buddy is not None:
                buddy._on_state(d)
        elif msg.op == "acc.incoming_subscribe":
            self._cb.on_incoming_subscribe(d["from_uri"], d["code"])
        elif msg.op == "acc.moved":  # its agent went away: the coordinator re-created it
            self.agent, self.contact = d["agent"], d["contact"]
            self._cb.on_moved()

    def make_call(self, dst_uri: str, cb: CallCallback | None = None,
                  hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> Call:
        """Start a call; returns at once, its progress comes to ``cb.on_state()``."""
        gid = self.lib._conn.next_id("c")
        call = Call(self.lib, gid, self, role="caller")
        call.set_callback(cb)
        call._info.remote_uri = dst_uri
        self.lib._calls[gid] = call
        args: dict[str, Any] = {"acc": self.id, "uri": dst_uri, "call": gid}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        try:
            result = self.lib._request("call.make", args, obj=gid)
        except Error:
            self.lib._calls.pop(gid, None)
            raise
        call.agent = call._info.agent = result["agent"]
        return call

    def delete(self) -> None:
        self.lib._request("acc.delete", {"acc": self.id}, obj=self.id)
        self.lib._accounts.pop(self.id, None)


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
        self._cb._set_call(self)

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
        self.lib._request("call.dial_dtmf", {"call": self.id, "digits": digits, "method": method},
                          obj=self.id)

    def send_pager(self, text: str, im_id: int = 0, content_type: str = "text/plain",
                   hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an instant message inside the call; the delivery code comes to
        ``on_pager_status()`` with ``im_id``."""
        args: dict[str, Any] = {"call": self.id, "text": text, "im_id": im_id,
                                "content_type": content_type}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("call.send_pager", args, obj=self.id)

    def send_typing_ind(self, is_typing: bool = True,
                        hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Tell the peer that we are (or stopped) typing."""
        args: dict[str, Any] = {"call": self.id, "is_typing": is_typing}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("call.send_typing_ind", args, obj=self.id)

    def stats(self) -> CallStats:
        """RTP statistics of the call's audio (packets, loss, jitter, RTT) and a MOS estimate,
        asked of the agent now. E_WRONG_STATE before the call has media."""
        r = self.lib._request("call.stats", {"call": self.id}, obj=self.id)
        return CallStats(**{k: r[k] for k in CallStats.__dataclass_fields__})

    def transfer(self, dest_uri: str,
                 hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Blind transfer (REFER) to ``dest_uri``; progress comes to ``on_transfer_status()``.
        The call stays up: hang it up once the transfer succeeded (or not)."""
        args: dict[str, Any] = {"call": self.id, "uri": dest_uri}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("call.transfer", args, obj=self.id)

    def transfer_to_call(self, call: Call,
                         hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Attended transfer: ask this call's peer to call ``call``'s remote party with
        Replaces, taking ``call``'s place (both calls answered, of this client's accounts on one
        agent). Progress comes to ``on_transfer_status()``; hang this call up after it."""
        args: dict[str, Any] = {"call": self.id, "dest_call": call.id}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request("call.transfer_replaces", args, obj=self.id)

    def _op(self, op: str, code: int | None, reason: str,
            hdr_list: list[tuple[str, str]] | dict[str, str] | None) -> None:
        args: dict[str, Any] = {"call": self.id}
        if code is not None:
            args["code"] = code
        if reason:
            args["reason"] = reason
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib._request(op, args, obj=self.id)

    def info(self, refresh: bool = False) -> CallInfo:
        """The call as its events last described it (what callbacks expect to read).

        ``refresh=True`` asks the agent (durations, media) while the call lives.
        """
        if refresh and self.is_valid():
            try:
                r = self.lib._request("call.info", {"call": self.id}, obj=self.id)
            except Error as exc:
                if exc.err_code != "E_NOT_FOUND":
                    raise
            else:
                i = self._info
                i.state = i.state_text = r["state"]
                i.role, i.remote_uri, i.uri = r["role"], r["remote_uri"], r["local_uri"]
                i.sip_call_id, i.last_code, i.last_reason = r["call_id"], r["code"], r["reason"]
                i.call_time, i.total_time, i.media_state = r["connect_s"], r["total_s"], r["media"]
                i.codec = r["codec"]
                i.contact, i.remote_contact = r["local_contact"], r["remote_contact"]
        return CallInfo(**vars(self._info))

    # events, on the callback thread
    def _on_event(self, msg: proto.Message) -> None:
        d, i = msg.data, self._info
        if msg.op == "call.state" and d.get("adopted") and d["state"] == i.state:
            # a restarted coordinator re-adopted the call and tells its current state: a state
            # this client saw already calls no callback a second time
            i.last_code, i.last_reason = d["code"], d["reason"]
            return
        if msg.op == "call.state":
            i.state = i.state_text = d["state"]
            i.last_code, i.last_reason = d["code"], d["reason"]
            i.remote_uri = d["remote_uri"] or i.remote_uri
            i.sip_call_id = d["call_id"] or i.sip_call_id
            i.role = d["role"] or i.role
            try:
                self._cb.on_state()
            finally:
                if i.state == "DISCONNECTED":
                    self._ended.set()
                    self.lib._calls.pop(self.id, None)
        elif msg.op == "call.media_state":
            i.media_state, i.media_dir = d["media"], d["dir"]
            self._cb.on_media_state()
        elif msg.op == "call.dtmf":
            i.dtmf += d["digit"]
            self._cb.on_dtmf_digit(d["digit"])
        elif msg.op == "call.transfer_request":
            if d["new_call"]:
                new = Call(self.lib, d["new_call"], self.account, role="caller", agent=d["agent"])
                new._info.remote_uri = d["uri"]
                self.lib._calls[new.id] = new
                self.transfer_call = new
            self._cb.on_transfer_request(d["uri"], d["code"])
        elif msg.op == "call.replace_request":
            self._cb.on_replace_request(d["code"], d["from_uri"])
            if d["new_call"]:
                new = Call(self.lib, d["new_call"], self.account, role="callee", agent=d["agent"])
                self.lib._calls[new.id] = new
                self.replaced_by = new
                self._cb.on_replaced(new)
        elif msg.op == "call.redirected":
            self._cb.on_call_redirected(d["target"], d["decision"])
        elif msg.op == "call.transfer_status":
            self._cb.on_transfer_status(d["code"], d["reason"], d["final"], True)
        elif msg.op == "call.pager":
            self._cb.on_pager(d["mime"], d["body"])
        elif msg.op == "call.pager_status":
            self._cb.on_pager_status(d["body"], d["im_id"], d["code"], d["reason"])
        elif msg.op == "call.typing":
            self._cb.on_typing(d["is_typing"])


class LoadWatch:
    """A load run started by this client: its progress as it comes, and its report."""

    def __init__(self, run: str,
                 on_progress: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.run = run
        self.on_progress = on_progress
        self.progress: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.finished = threading.Event()

    def _on_event(self, msg: proto.Message) -> None:
        if msg.op == "load.progress":
            self.progress = msg.data
            if self.on_progress is not None:
                self.on_progress(msg.data)
        elif msg.op == "load.done":
            self.report = msg.data["report"]
            self.finished.set()


class _AutoLock:
    """Holds the library lock from creation until released, deleted, or the ``with`` ends."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock: threading.RLock | None = lock
        lock.acquire()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> _AutoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


class Lib(MediaLib):
    """One connection to a callfleet coordinator (the classic pjsua ``Lib``); its media methods
    come from ``coordinator.media.MediaLib``."""

    _instance: Lib | None = None

    def __init__(self, url: str, fleet: LocalFleet | None = None, timeout: float = 15.0,
                 keys: ClientKeys | None = None) -> None:
        super().__init__()
        self.url = url
        self.fleet = fleet
        self.timeout = timeout
        self._events: queue.Queue[proto.Message | None] = queue.Queue()
        self._conn = Connection(url, self._events, keys)
        self._accounts: dict[str, Account] = {}
        self._calls: dict[str, Call] = {}
        self._loads: dict[str, LoadWatch] = {}
        self._lock = threading.RLock()
        self.callback_errors: list[BaseException] = []
        #: exit status of each process of a start_local() fleet, once destroy() stopped it
        self.exit_codes: dict[str, int] = {}
        self._seqs = SeqWatch()
        #: messages the coordinator said it dropped for this connection (events.gap notices)
        self.dropped_reported = 0
        self._cb_thread = threading.Thread(target=self._deliver, name="callfleet-callbacks",
                                           daemon=True)
        self._cb_thread.start()
        Lib._instance = self

    @staticmethod
    def instance() -> Lib:
        if Lib._instance is None:
            raise Error("lib", "instance", "E_NOT_FOUND", "no Lib has been created")
        return Lib._instance

    @classmethod
    def connect(cls, url: str = "tcp://127.0.0.1:5601", timeout: float = 15.0,
                server_key: str = "", key: str = "") -> Lib:
        """Connect to a running coordinator; fails with E_TIMEOUT if it does not answer.

        With CURVE: ``server_key`` is the coordinator's public certificate file (``.key``),
        ``key`` this client's own ``.key_secret`` file (whose public key the coordinator must
        allow). A refused key gets no reply at all: E_TIMEOUT; an unreadable file: E_BAD_ARGS."""
        try:
            keys = ClientKeys.load(server_key, key)
        except KeyFileError as exc:
            raise Error("lib", "connect", "E_BAD_ARGS", str(exc)) from None
        lib = cls(url, timeout=timeout, keys=keys)
        try:
            lib.status()
        except Error:
            lib.destroy()
            raise
        return lib

    @classmethod
    def start_local(cls, agents: int = 2, timeout: float = 30.0,
                    agent_args: list[str] | None = None,
                    coordinator_args: list[str] | None = None, curve: bool = False) -> Lib:
        """An embedded coordinator and ``agents`` agents as child processes of this one
        (``curve``: every connection with CURVE keys made for this fleet)."""
        fleet = LocalFleet(agents, agent_args=agent_args, coordinator_args=coordinator_args,
                           curve=curve)
        try:
            fleet.start(timeout)
            lib = cls(fleet.clients_url, fleet=fleet, keys=fleet.client_keys)
            lib.wait_agents(agents, timeout)
        except BaseException:
            fleet.stop()
            raise
        return lib

    def wait_agents(self, n: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            agents = self.agents()
            if len(agents) >= n:
                return agents
            if time.monotonic() > deadline:
                raise Error("lib", "wait_agents", "E_TIMEOUT",
                            f"{len(agents)} of {n} agents connected in {timeout:g} s")
            time.sleep(0.05)

    def destroy(self) -> None:
        """Disconnect; a fleet started by start_local() is stopped too."""
        self._events.put(None)
        self._cb_thread.join(timeout=5)
        self._conn.close()
        if self.fleet is not None:
            self.exit_codes = self.fleet.stop()
        if Lib._instance is self:
            Lib._instance = None

    def auto_lock(self) -> _AutoLock:
        """The lock callbacks run under: hold it to keep callbacks out of a critical section."""
        return _AutoLock(self._lock)

    # -- requests -------------------------------------------------------------------------
    def request(self, op: str, args: dict[str, Any] | None = None,
                expires_in: float | None = None) -> dict[str, Any]:
        """Any protocol op by name (see proto/PROTOCOL.md); returns the reply's result map.
        With ``expires_in`` (seconds), a request that reaches the coordinator or its agent later
        than that is refused with E_EXPIRED instead of being executed."""
        expires = time.time() + expires_in if expires_in is not None else 0.0
        return self._request(op, args or {}, expires=expires)

    def _request(self, op: str, args: dict[str, Any], obj: str = "",
                 expires: float = 0.0) -> dict[str, Any]:
        try:
            rep = self._conn.request(op, args, self.timeout, expires)
        except ProtoError as exc:
            raise Error(obj or exc.obj, op, exc.code, exc.msg, exc.status) from None
        if not rep.ok:
            e = rep.error or {}
            raise Error(str(e.get("obj") or obj), str(e.get("op") or op),
                        str(e.get("code", "E_INTERNAL")), str(e.get("msg", "")),
                        int(e.get("status") or 0))
        return rep.result

    def agents(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("lib.agents", {})["agents"]
        return result

    def status(self) -> dict[str, Any]:
        return self._request("lib.status", {})

    def create_account(self, acc_config: str | AccountConfig, cb: AccountCallback | None = None,
                       auto_answer: int | None = None, replicas: str = "home") -> Account:
        """An account on the least loaded agent: a local one from an id URI, or from an
        ``AccountConfig`` (registrar, proxy, credentials). A registering account reports each
        registration to ``cb.on_reg_state()``. ``replicas="all"``: the account lives (and
        registers) on every agent, and its calls go round robin over them
        (``account.replicas`` names them)."""
        args = {"replicas": "all"} if replicas == "all" else {}
        if replicas not in ("home", "all"):
            raise Error("", "acc.create", "E_BAD_ARGS", "replicas must be home or all")
        if isinstance(acc_config, AccountConfig):
            auto_answer = auto_answer if auto_answer is not None else acc_config.auto_answer
            args.update(acc_config.args())
            return self._create(args.pop("uri"), args, cb, auto_answer)
        return self._create(acc_config, args, cb, auto_answer)

    def _create(self, uri: str, args: dict[str, Any], cb: AccountCallback | None,
                auto_answer: int | None) -> Account:
        gid = self._conn.next_id("a")
        args = dict(args, uri=uri, acc=gid)
        if auto_answer is not None:
            args["auto_answer"] = auto_answer
        acc = Account(self, gid, uri, "", "", auto_answer)
        acc.set_callback(cb)
        self._accounts[gid] = acc
        try:
            r = self._request("acc.create", args, obj=gid)
        except Error:
            self._accounts.pop(gid, None)
            raise
        acc.agent, acc.contact = r["agent"], r["contact"]
        acc.replicas = r.get("replicas") or [acc.agent]
        return acc

    def transports(self) -> list[Transport]:
        """Every SIP transport every ready agent listens on (type, host, port, agent)."""
        return [Transport(t["agent"], t["type"], t["host"], t["port"])
                for t in self._request("lib.transports", {})["transports"]]

    def create_account_for_transport(self, transport: Transport, cb: AccountCallback | None = None,
                                     user: str = "", auto_answer: int | None = None) -> Account:
        """A local account on ``transport``'s agent, bound to it: its id is
        ``sip:[user@]host:port;transport=...`` and its requests and Contact use that transport,
        as with pjsua. Its calls stay on that agent."""
        return self._create(transport.uri(user), {"agent": transport.agent,
                                                  "transport": transport.type}, cb, auto_answer)

    # -- load runs -------------------------------------------------------------------------
    def start_load(self, profile: dict[str, Any],
                   on_progress: Callable[[dict[str, Any]], None] | None = None) -> LoadWatch:
        """Start a load run (see ``load.start`` in PROTOCOL.md); returns at once."""
        run = str(profile.get("run") or self._conn.next_id("L"))
        watch = LoadWatch(run, on_progress)
        self._loads[run] = watch
        try:
            self._request("load.start", dict(profile, run=run), obj=run)
        except Error:
            self._loads.pop(run, None)
            raise
        return watch

    def run_load(self, profile: dict[str, Any],
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 timeout: float = 3600.0) -> dict[str, Any]:
        """Run a load run to its end and return its report."""
        watch = self.start_load(profile, on_progress)
        if not watch.finished.wait(timeout):
            self.stop_load(watch.run)
            if not watch.finished.wait(30):
                raise Error(watch.run, "run_load", "E_TIMEOUT", "the run did not end")
        assert watch.report is not None
        return watch.report

    def set_load_rate(self, run: str, rate: float) -> None:
        self._request("load.set_rate", {"run": run, "rate": rate}, obj=run)

    def stop_load(self, run: str) -> None:
        self._request("load.stop", {"run": run}, obj=run)

    # -- callbacks -------------------------------------------------------------------------
    def _deliver(self) -> None:
        while True:
            msg = self._events.get()
            if msg is None:
                return
            with self._lock:
                try:
                    self._check_seq(msg)
                    self._dispatch(msg)
                except Exception as exc:  # a user callback failed: keep delivering
                    self.callback_errors.append(exc)

    @property
    def missed_events(self) -> int:
        """Events found missing from their object's ``seq`` numbering so far."""
        return self._seqs.missed

    def on_gap(self, obj: str, missed: int) -> None:
        """Events were lost: ``missed`` before the one just received about ``obj`` (a jump in its
        ``seq``), or, with ``obj`` empty, messages the coordinator dropped for this connection
        (its ``events.gap`` notice: events and replies, of any object). Runs on the callback
        thread; logs a warning. Override it (or assign a function) to resynchronise, e.g. with
        ``call.info()`` or an ``events.subscribe`` snapshot."""
        log.warning("callfleet: %d message(s) lost%s", missed, f" about {obj}" if obj else
                    " by the coordinator for this connection")

    def _check_seq(self, msg: proto.Message) -> None:
        if msg.op == "events.gap":
            dropped = int(msg.data.get("dropped", 0))
            self.dropped_reported += dropped
            self.on_gap("", dropped)
            return
        key = f"{msg.op.split('.', 1)[0]}/{msg.obj}"  # ids of calls, accounts, runs may collide
        missed = self._seqs.observe(key, msg.seq)
        if (msg.op == "call.state" and msg.data.get("state") == "DISCONNECTED") \
                or msg.op == "load.done":
            self._seqs.forget(key)
        if missed:
            self.on_gap(msg.obj, missed)

    def _dispatch(self, msg: proto.Message) -> None:
        if msg.op == "acc.incoming_call":
            acc = self._accounts.get(msg.obj)
            if acc is None:
                return
            d = msg.data
            call = Call(self, d["call"], acc, role="callee", agent=d["agent"])
            call._info.remote_uri, call._info.sip_call_id = d["remote_uri"], d["call_id"]
            self._calls[call.id] = call
            acc._cb.on_incoming_call(call)
        elif msg.op.startswith("acc."):
            account = self._accounts.get(msg.obj)
            if account is not None:
                account._on_event(msg)
        elif msg.op.startswith("load."):
            watch = self._loads.get(msg.obj)
            if watch is not None:
                watch._on_event(msg)
                if watch.finished.is_set():
                    self._loads.pop(msg.obj, None)
        elif msg.op.startswith("call."):
            target = self._calls.get(msg.obj)
            if target is not None:
                target._on_event(msg)
        elif msg.op.startswith("media."):
            self._on_media_event(msg)
