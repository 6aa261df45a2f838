"""Accounts of the client, as pjsua's: ``AccountConfig`` (identity, registrar, proxy,
credentials), ``Account`` (calls, registration, messages, presence, buddies, policy) and what its
events do (``acc.*``, to its ``AccountCallback``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coordinator.client.buddy import Buddy, BuddyCallback, same_address
from coordinator.client.call import Call
from coordinator.client.callbacks import AccountCallback, CallCallback
from coordinator.client.dispatch import handles
from coordinator.client.errors import Error

if TYPE_CHECKING:
    from coordinator.client.lib import Lib


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


#: AccountConfig's call options and MWI subscription, under their wire names (acc.create)
SESSION_OPTIONS = ("require_100rel", "use_timer", "timer_se", "timer_min_se", "use_srtp",
                   "srtp_keying", "srtp_secure_signaling", "lock_codec", "sdp_attrs", "mwi",
                   "mwi_expires")


class AccountConfig:
    """As pjsua's AccountConfig: identity, registrar, outbound proxy and digest credentials.

    ``AccountConfig("example.org", "alice", "pw", registrar="sip:example.org")`` gives the id
    ``sip:alice@example.org``; ``id`` sets the id URI directly. The password is sent to the
    coordinator once and is never shown (not even by ``repr``).
    """

    def __init__(self, domain: str = "", username: str = "", password: str = "", display: str = "",
                 registrar: str = "", proxy: str = "", *, id: str = "", realm: str = "*",
                 reg_timeout: int | None = None, auto_answer: int | None = None,
                 require_100rel: str = "", use_timer: str = "", timer_se: int | None = None,
                 timer_min_se: int | None = None, use_srtp: str = "", srtp_keying: str = "",
                 srtp_secure_signaling: int | None = None, lock_codec: bool = True,
                 sdp_attrs: list[str] | None = None, mwi: bool = False,
                 mwi_expires: int | None = None) -> None:
        uri = id or (f"sip:{username}@{domain}" if username else f"sip:{domain}")
        self.id = f'"{display}" <{uri}>' if display and not id else uri
        self.reg_uri = registrar
        self.proxy = proxy
        self.username = username
        self.password = password
        self.realm = realm
        self.reg_timeout = reg_timeout
        self.auto_answer = auto_answer
        #: as pjsua's: 100rel (no, optional, mandatory), session timers (inactive, optional,
        #: required, always; Session-Expires and Min-SE seconds), SRTP (disabled, optional,
        #: mandatory; keying sdes, dtls or both in order; secure signalling 0, 1, 2)
        self.require_100rel = require_100rel
        self.use_timer = use_timer
        self.timer_se = timer_se
        self.timer_min_se = timer_min_se
        self.use_srtp = use_srtp
        self.srtp_keying = srtp_keying
        self.srtp_secure_signaling = srtp_secure_signaling
        #: as pjsua's lock_codec: an answer with several codecs is followed by an UPDATE (or
        #: re-INVITE) that keeps the one in use
        self.lock_codec = lock_codec
        #: SDP attributes (``"label:main"``, no ``a=``) added to the audio media of the
        #: account's SDP offers and answers
        self.sdp_attrs = list(sdp_attrs or [])
        #: subscribe to message waiting indications (on_mwi_info), as pjsua's mwi_enabled
        self.mwi = mwi
        self.mwi_expires = mwi_expires

    def __repr__(self) -> str:
        return f"<AccountConfig {self.id} registrar={self.reg_uri or '-'} proxy={self.proxy or '-'}>"

    def args(self) -> dict[str, Any]:
        """The acc.create arguments."""
        out: dict[str, Any] = {"uri": self.id}
        for key, value in (("registrar", self.reg_uri), ("proxy", self.proxy),
                           ("username", self.username), ("expires", self.reg_timeout),
                           ("auto_answer", self.auto_answer),
                           *((name, getattr(self, name)) for name in SESSION_OPTIONS)):
            if key == "lock_codec":  # on by default: sent unless left on (a wrong value too)
                if value is not True:
                    out[key] = value
            elif value or (key == "srtp_secure_signaling" and value == 0):
                out[key] = value
        if self.username:
            out["password"] = self.password
            if self.realm and self.realm != "*":
                out["realm"] = self.realm
        return out


class Account:
    def __init__(self, lib: Lib, gid: str, uri: str, agent: str, contact: str,
                 auto_answer: int | None) -> None:
        self.lib = lib
        self.id = gid
        self.uri = uri
        self.agent = agent
        self.contact = contact
        self.auto_answer = auto_answer
        #: its callback (``set_callback``)
        self.callback: AccountCallback = AccountCallback(self)
        #: what its events said of its registration (``info()`` reads it)
        self.registration = AccountInfo(uri, agent, contact)
        #: the agents that hold the account (several with replicas="all")
        self.replicas: list[str] = [agent] if agent else []

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.uri} on {self.agent}>"

    def set_callback(self, cb: AccountCallback | None) -> None:
        self.callback = cb or AccountCallback()
        self.callback.set_account(self)

    def info(self) -> AccountInfo:
        """The account as its events last described it (registration state included)."""
        i = self.registration
        i.uri, i.agent, i.contact = self.uri, self.agent, self.contact
        return AccountInfo(**vars(i))

    def set_registration(self, renew: bool = True) -> None:
        """Register again (``renew=True``) or unregister; the outcome comes to
        ``on_reg_state()``. Only for an account created with a registrar."""
        self.lib.session.request("acc.set_registration", {"acc": self.id, "renew": renew}, obj=self.id)

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
        self.lib.session.request("acc.modify", {"acc": self.id, **args}, obj=self.id)

    def set_policy(self, transfer: str | None = None, transfer_code: int | None = None,
                   subscribe: str | None = None, subscribe_code: int | None = None,
                   replaces: str | None = None, replaces_code: int | None = None,
                   redirect: str | None = None, ring: float | None = None) -> None:
        """Decide in advance what the account answers to requests that pjsua settles inside a
        callback, each ``"accept"`` or ``"reject"`` with a code: an incoming REFER
        (``transfer``: rejected with 603 unless the account opts in with ``"accept"``), a
        presence SUBSCRIBE (``subscribe``: accepted by default, else 403), an INVITE with
        Replaces (``replaces``: accepted by default, else 603); and what its outgoing calls do with a 3xx
        answer: ``redirect="follow"`` or ``"stop"`` (the default, as pjsua2), reported to
        ``CallCallback.on_call_redirected()``; and, for an auto-answering account, how many
        seconds an incoming call rings (180) before the answer (``ring``). Arguments left out
        keep their value."""
        given = {"transfer": transfer, "transfer_code": transfer_code, "subscribe": subscribe,
                 "subscribe_code": subscribe_code, "replaces": replaces,
                 "replaces_code": replaces_code, "redirect": redirect, "ring": ring}
        self.lib.session.request("acc.set_policy", {"acc": self.id, **{
            k: v for k, v in given.items() if v is not None}}, obj=self.id)

    def add_buddy(self, uri: str, cb: BuddyCallback | None = None,
                  subscribe: bool = False) -> Buddy:
        """A buddy to watch; ``subscribe=True`` (or ``buddy.subscribe()``) subscribes to its
        presence, whose changes come to ``cb.on_state()``."""
        gid = self.lib.session.next_id("b")
        buddy = Buddy(self, gid, uri)
        buddy.set_callback(cb)
        self.lib.session.buddies[gid] = buddy
        try:
            self.lib.session.request("acc.add_buddy", {"acc": self.id, "uri": uri, "buddy": gid,
                                                "subscribe": subscribe}, obj=gid)
        except Error:
            self.lib.session.buddies.pop(gid, None)
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
        self.lib.session.request("acc.set_presence", args, obj=self.id)

    def send_pager(self, uri: str, text: str, im_id: int = 0, content_type: str = "text/plain",
                   hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Send an instant message to ``uri``; its delivery code comes to ``on_pager_status()``
        with ``im_id``."""
        args: dict[str, Any] = {"acc": self.id, "uri": uri, "text": text, "im_id": im_id,
                                "content_type": content_type}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("acc.send_pager", args, obj=self.id)

    def send_typing_ind(self, uri: str, is_typing: bool = True,
                        hdr_list: list[tuple[str, str]] | dict[str, str] | None = None) -> None:
        """Tell ``uri`` that this account is (or stopped) typing."""
        args: dict[str, Any] = {"acc": self.id, "uri": uri, "is_typing": is_typing}
        if hdr_list:
            args["headers"] = dict(hdr_list)
        self.lib.session.request("acc.send_typing_ind", args, obj=self.id)

    def make_call(self, dst_uri: str, cb: CallCallback | None = None,
                  hdr_list: list[tuple[str, str]] | dict[str, str] | None = None,
                  persistent: bool = False, audio_count: int | None = None) -> Call:
        """Start a call; returns at once, its progress comes to ``cb.on_state()``.
        ``persistent``: the call goes on when this client's lease expires. ``audio_count``:
        audio streams to offer (default 1, as pjsua's; its --extra-audio is 2)."""
        gid = self.lib.session.next_id("c")
        call = Call(self.lib, gid, self, role="caller")
        call.set_callback(cb)
        call.learn(remote_uri=dst_uri)
        self.lib.session.calls[gid] = call
        args: dict[str, Any] = {"acc": self.id, "uri": dst_uri, "call": gid}
        if persistent:
            args["persistent"] = True
        if audio_count is not None:
            args["audio_count"] = audio_count
        if hdr_list:
            args["headers"] = dict(hdr_list)
        try:
            result = self.lib.session.request("call.make", args, obj=gid)
        except Error:
            self.lib.session.calls.pop(gid, None)
            raise
        call.agent = result["agent"]
        call.learn(agent=result["agent"])
        return call

    def delete(self) -> None:
        self.lib.session.request("acc.delete", {"acc": self.id}, obj=self.id)
        self.lib.session.accounts.pop(self.id, None)


# -- its events, on the callback thread --------------------------------------------------------
@handles("acc.incoming_call", "accounts")
def _incoming_call(acc: Account, d: dict[str, Any]) -> None:
    call = Call(acc.lib, d["call"], acc, role="callee", agent=d["agent"])
    call.learn(remote_uri=d["remote_uri"], uri=d["local_uri"], sip_call_id=d["call_id"],
               request_uri=d.get("request_uri", ""))
    acc.lib.session.calls[call.id] = call
    acc.callback.on_incoming_call(call)


@handles("acc.reg_state", "accounts")
def _reg_state(acc: Account, d: dict[str, Any]) -> None:
    i = acc.registration
    i.reg_status, i.reg_reason, i.reg_active = d["code"], d["reason"], d["active"]
    i.reg_expires, i.reg_last_err = d["expires"], d["status"]
    acc.callback.on_reg_state()


def _buddy_at(acc: Account, uri: str) -> Buddy | None:
    """The account's buddy at ``uri``'s address, if it has one (messages from it, and the
    delivery of messages to it, go to the buddy's callback, as in pjsua)."""
    return next((b for b in list(acc.lib.session.buddies.values())
                 if b.account is acc and same_address(b.uri, uri)), None)


@handles("acc.pager", "accounts")
def _pager(acc: Account, d: dict[str, Any]) -> None:
    buddy = _buddy_at(acc, d["from_uri"])
    if buddy is not None:
        buddy.callback.on_pager(d["mime"], d["body"])
    else:
        acc.callback.on_pager(d["from_uri"], d["contact"], d["mime"], d["body"])


@handles("acc.pager_status", "accounts")
def _pager_status(acc: Account, d: dict[str, Any]) -> None:
    buddy = _buddy_at(acc, d["to_uri"])
    if buddy is not None:
        buddy.callback.on_pager_status(d["body"], d["im_id"], d["code"], d["reason"])
    else:
        acc.callback.on_pager_status(d["to_uri"], d["body"], d["im_id"], d["code"], d["reason"])


@handles("acc.mwi_info", "accounts")
def _mwi_info(acc: Account, d: dict[str, Any]) -> None:
    acc.callback.on_mwi_info(d["waiting"], d["voice_new"], d["voice_old"], d["body"], d["state"])


@handles("acc.typing", "accounts")
def _typing(acc: Account, d: dict[str, Any]) -> None:
    buddy = _buddy_at(acc, d["from_uri"])
    if buddy is not None:
        buddy.callback.on_typing(d["is_typing"])
    else:
        acc.callback.on_typing(d["from_uri"], d["contact"], d["is_typing"])


@handles("acc.incoming_subscribe", "accounts")
def _incoming_subscribe(acc: Account, d: dict[str, Any]) -> None:
    acc.callback.on_incoming_subscribe(d["from_uri"], d["code"])


@handles("acc.moved", "accounts")
def _moved(acc: Account, d: dict[str, Any]) -> None:
    """Its agent went away: the coordinator re-created it elsewhere."""
    acc.agent, acc.contact = d["agent"], d["contact"]
    acc.callback.on_moved()


@handles("acc.buddy_state", "accounts")
def _buddy_state(acc: Account, d: dict[str, Any]) -> None:
    buddy = acc.lib.session.buddies.get(d["buddy"])
    if buddy is not None:
        buddy.on_state(d)
