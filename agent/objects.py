"""pjsua2 Account and Call subclasses whose callbacks turn into events (never block, never raise)."""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import pjsua2 as pj

import proto
from agent import admission, policy, redirect, rtp, sdp, transfer
from agent.framing import framing_error
from agent.pager import PagerBook, clip
from agent.state import AgentState
from proto import mwi

F = TypeVar("F", bound=Callable[..., None])

MEDIA_STATES = ("NONE", "ACTIVE", "LOCAL_HOLD", "REMOTE_HOLD", "ERROR")
MEDIA_DIRS = ("none", "send", "recv", "sendrecv")


def guarded(fn: F) -> F:
    """SWIG prints and swallows exceptions raised in callbacks: report them as events instead."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any) -> None:
        try:
            fn(self, *args)
        except Exception as exc:  # a callback must never raise into PJSIP
            report_error(self.state, fn.__qualname__, exc)

    return wrapper  # type: ignore[return-value]


def report_error(state: AgentState, where: str, exc: Exception) -> None:
    """A callback failed: an agent.error event (the agent keeps serving)."""
    state.emit("agent.error", state.name, {
        "where": where, "msg": f"{type(exc).__name__}: {exc}",
        "trace": traceback.format_exc(limit=4)[-2000:]})


def state_name(code: int) -> str:
    return proto.CALL_STATES[code] if 0 <= code < len(proto.CALL_STATES) else f"STATE_{code}"


def media_summary(ci: Any) -> tuple[str, str]:
    """(state, direction) of the call's first audio stream."""
    for m in ci.media:
        if m.type == pj.PJMEDIA_TYPE_AUDIO:
            st = MEDIA_STATES[m.status] if 0 <= m.status < len(MEDIA_STATES) else "ERROR"
            dr = MEDIA_DIRS[m.dir] if 0 <= m.dir < len(MEDIA_DIRS) else "none"
            return st, dr
    return "NONE", "none"


def far_end_has(prm: Any, header: str) -> bool:
    """Whether the request the far end ended a call with (the event of its DISCONNECTED state)
    carries ``header``."""
    e = prm.e
    if e.type != pj.PJSIP_EVENT_TSX_STATE or e.body.tsxState.type != pj.PJSIP_EVENT_RX_MSG:
        return False
    head = str(e.body.tsxState.src.rdata.wholeMsg).split("\r\n\r\n", 1)[0].lower()
    return f"\r\n{header.lower()}:" in head


def uri_user(uri: str) -> str:
    """The user part of a SIP URI, with or without display name and angle brackets."""
    bare = uri.rsplit("<", 1)[-1].split(">", 1)[0].strip()
    _, _, rest = bare.partition(":")
    return rest.split("@", 1)[0] if "@" in rest else ""


#: pjsip_evsub_state names (an unsolicited NOTIFY has none: NULL)
_EVSUB_STATES = {pj.PJSIP_EVSUB_STATE_NULL: "NULL", pj.PJSIP_EVSUB_STATE_SENT: "SENT",
                 pj.PJSIP_EVSUB_STATE_ACCEPTED: "ACCEPTED", pj.PJSIP_EVSUB_STATE_PENDING: "PENDING",
                 pj.PJSIP_EVSUB_STATE_ACTIVE: "ACTIVE", pj.PJSIP_EVSUB_STATE_TERMINATED: "TERMINATED"}


def _request_uri(whole_msg: str) -> str:
    """The Request-URI of a request ("" when the request line is not one)."""
    first = whole_msg.split("\r\n", 1)[0].split(" ")
    return first[1] if len(first) >= 2 else ""


def _addressed_to(whole_msg: str, user: str) -> bool:
    """Whether the request line of an INVITE targets ``user``."""
    return uri_user(_request_uri(whole_msg)).split(";", 1)[0] == user


#: receives a call's state changes instead of events (load-run calls: no per-call events)
Observer = Callable[["AgentCall", Any], None]


def _ignore(call: AgentCall, ci: Any) -> None:
    """The observer of calls the agent refuses by itself: they report nothing."""


class AgentCall(pj.Call):  # type: ignore[misc]
    """One call. ``gid`` is its global id; it is dropped once DISCONNECTED is handled."""

    def __init__(self, state: AgentState, acc: AgentAccount, gid: str,
                 pj_call_id: int = pj.PJSUA_INVALID_ID, observer: Observer | None = None) -> None:
        super().__init__(acc, pj_call_id)
        self.state = state
        self.gid = gid
        self.observer = observer
        #: load-run calls: received DTMF digits go here instead of events
        self.on_dtmf: Callable[[AgentCall, str], None] | None = None
        #: load-run calls: told when the call's media changes instead of events
        self.on_media: Callable[[AgentCall], None] | None = None
        #: load-run calls: received instant messages (the text), and the final status code
        #: of each sent one, go here instead of events
        self.on_im: Callable[[AgentCall, str], None] | None = None
        self.on_im_status: Callable[[AgentCall, int], None] | None = None
        #: load-run calls: the final status code of each INFO sent (DTMF by INFO)
        self.on_info_status: Callable[[AgentCall, int], None] | None = None
        #: load-run calls: a header to look for in the request that ends the call (a BYE or
        #: CANCEL from the far end), and whether it was there
        self.far_end_header = ""
        self.far_end_said = False
        #: load-run calls: a REFER received (the run accepts it, with prm.newCall, or not) and
        #: the progress reports (code, final) of a REFER sent
        self.on_transfer: Callable[[AgentCall, Any], None] | None = None
        self.on_transfer_status: Callable[[AgentCall, int, bool], None] | None = None
        self.acc_id = acc.gid
        #: the owning client (routing id in hex, CURVE key): the account's owner unless the
        #: coordinator names another (call.make); kept for a restarted coordinator
        self.owner, self.owner_key = acc.owner, acc.owner_key
        #: it outlives its owner's lease: as its account for an incoming call (call.make says
        #: for its own), kept for a restarted coordinator
        self.persistent = acc.persistent
        self.started = time.monotonic()
        self.ended = False
        #: an incoming call's Request-URI: the address it was called on (a front's, when a SIP
        #: front sent it here)
        self.request_uri = ""
        #: im_ids of the messages sent in this call, awaiting their reports
        self.pagers = PagerBook()
        #: calls started by pjsua for REFERs this call accepted (agent.transfer)
        self.children: list[AgentCall] = []
        #: the last REFER this call sent had its final report (pjsua 2.15.1 follows the 200 of a
        #: transfer without subscription, Refer-Sub: false, with a spurious final 500)
        self.transfer_done = False
        #: the 3xx (code, reason) the redirect policy stopped at: pjsua then ends the call with
        #: 487, and the call reports the 3xx instead
        self.stopped_by: tuple[int, str] | None = None
        #: audio streams the call may open (CallSetting.audioCount; pjsua's default is one)
        self.audio_count = 1
        state.budget.take()

    def info(self) -> dict[str, Any]:
        ci = self.getInfo()
        media, _ = media_summary(ci)
        return {
            "state": state_name(ci.state), "role": "caller" if ci.role == pj.PJSIP_ROLE_UAC else "callee",
            "remote_uri": ci.remoteUri, "local_uri": ci.localUri, "call_id": ci.callIdString,
            **self._last_status(ci),
            "connect_s": ci.connectDuration.sec + ci.connectDuration.msec / 1000.0,
            "total_s": round(time.monotonic() - self.started, 3), "media": media,
            "codec": rtp.codec(self, ci), "media_proto": rtp.media_proto(self, ci),
            "audio_streams": sum(1 for m in ci.media if m.type == pj.PJMEDIA_TYPE_AUDIO
                                 and m.status != pj.PJSUA_CALL_MEDIA_NONE),
            "local_contact": ci.localContact, "remote_contact": ci.remoteContact,
        }

    def last_state(self) -> dict[str, Any]:
        """The call's state as a call.state event gives it (agent.holdings)."""
        ci = self.getInfo()
        return {"state": state_name(ci.state), **self._last_status(ci),
                "remote_uri": ci.remoteUri, "call_id": ci.callIdString,
                "role": "caller" if ci.role == pj.PJSIP_ROLE_UAC else "callee"}

    @guarded
    def onCallState(self, prm: Any) -> None:
        ci = self.getInfo()
        ended = ci.state == pj.PJSIP_INV_STATE_DISCONNECTED
        if self.observer is not None:
            if ended and self.far_end_header:
                self.far_end_said = far_end_has(prm, self.far_end_header)
            try:
                self.observer(self, ci)
            finally:
                if ended:
                    self.finish()
            return
        last = self._last_status(ci)
        reason = self.state.end_reason if ended and self.state.shutting_down else last["reason"]
        data = {"state": state_name(ci.state), "code": last["code"], "reason": reason,
                "remote_uri": ci.remoteUri, "call_id": ci.callIdString,
                "role": "caller" if ci.role == pj.PJSIP_ROLE_UAC else "callee"}
        self.state.emit("call.state", self.gid, {**data, "agent": self.state.name})
        if ended:
            self.state.ended_calls.append((time.monotonic(), {
                "call": self.gid, "acc": self.acc_id, "owner": self.owner,
                "owner_key": self.owner_key, "seq": self.state.seq_of(self.gid), **data}))
            self.finish()

    def _last_status(self, ci: Any) -> dict[str, Any]:
        """The call's last code and reason: the 3xx when the redirect policy stopped it."""
        if self.stopped_by is not None and ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            return {"code": self.stopped_by[0], "reason": self.stopped_by[1]}
        return {"code": int(ci.lastStatusCode), "reason": ci.lastReason}

    def finish(self) -> None:
        """Forget the call, so that the object is deleted as soon as the DISCONNECTED callback
        returns, as pjsua2 intends. Deleting it any later is wrong: pjsua reuses the call slot,
        and ~Call clears the slot's user data, which would then belong to a newer call (whose
        callbacks would be lost)."""
        if self.ended:
            return
        self.ended = True
        transfer.drop_unborn(self)
        self.state.calls.pop(self.gid, None)
        self.state.forget(self.gid)
        self.state.budget.release(self.extra_sockets())
        self.state.slot_released()

    def extra_sockets(self) -> int:
        """Sockets of the call's extra audio streams (RTP and RTCP each)."""
        return 2 * (self.audio_count - 1)

    def allow_streams(self, count: int) -> None:
        """Let the call offer ``count`` audio streams: the sockets of the extra ones are counted
        (the caller checked that they fit)."""
        self.state.budget.take_extra(2 * (count - self.audio_count))
        self.audio_count = count

    def onCallRedirected(self, prm: Any) -> int:
        """A 3xx answer to this call's INVITE: the account's policy says follow or stop (a
        callback never waits on the network). Not ``guarded``: it must return a decision, and
        stop is what a failure falls back to."""
        decision = pj.PJSIP_REDIRECT_STOP
        try:
            acc = self.state.accounts.get(self.acc_id)
            decision = policy.redirect_op(acc.policy if acc is not None else policy.policy_of({}))
            response = redirect.response_text(prm.e)
            if decision == pj.PJSIP_REDIRECT_STOP:
                self.stopped_by = redirect.status_of(response)
            if self.observer is None:
                self.state.emit("call.redirected", self.gid, {
                    "target": redirect.full_target(str(prm.targetUri), response),
                    "decision": "follow" if decision == pj.PJSIP_REDIRECT_ACCEPT else "stop",
                    "agent": self.state.name})
        except Exception as exc:  # a callback must never raise into PJSIP
            report_error(self.state, "AgentCall.onCallRedirected", exc)
        return int(decision)

    def onCallRxOffer(self, prm: Any) -> None:
        """A new SDP offer from the peer (re-INVITE, UPDATE): refused with 488 while the
        conference bridge has no room for the stream it would re-create (agent.bridge). Not
        ``guarded``: it must leave a decision, and accepting is pjsua's default."""
        try:
            if not self.state.bridge_room():
                prm.statusCode = 488
        except Exception as exc:  # a callback must never raise into PJSIP
            report_error(self.state, "AgentCall.onCallRxOffer", exc)

    @guarded
    def onCallTransferRequest(self, prm: Any) -> None:
        transfer.on_request(self, prm)

    @guarded
    def onCallSdpCreated(self, prm: Any) -> None:
        """The account's sdp_attrs go into the audio media of each SDP written for the call:
        offers and answers, the first and later ones."""
        acc = self.state.accounts.get(self.acc_id)
        attrs = acc.settings.get("sdp_attrs") if acc is not None else None
        if attrs:
            prm.sdp.wholeSdp = sdp.add_audio_attributes(prm.sdp.wholeSdp, attrs)

    @guarded
    def onCallTransferStatus(self, prm: Any) -> None:
        transfer.on_status(self, prm)

    @guarded
    def onCallReplaceRequest(self, prm: Any) -> None:
        transfer.on_replace_request(self, prm)

    @guarded
    def onDtmfDigit(self, prm: Any) -> None:
        """A digit begins. pjsua2 tells no duration here (an RFC 2833 digit's is not known
        yet): 0. SIP INFO digits, whose message gives their duration, are told by
        onDtmfEvent."""
        if self.observer is not None:
            if self.on_dtmf is not None:
                self.on_dtmf(self, str(prm.digit)[:1])
            return
        if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO:
            return
        self.state.emit("call.dtmf", self.gid, {"digit": str(prm.digit)[:1],
                                                "method": "rfc2833", "duration": 0})

    @guarded
    def onDtmfEvent(self, prm: Any) -> None:
        """A SIP INFO digit, with the duration its message gives (pjsua's "unknown",
        0xFFFFFFFF, when it gives none: 0)."""
        if self.observer is None and prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO:
            duration = int(prm.duration)
            self.state.emit("call.dtmf", self.gid, {
                "digit": str(prm.digit)[:1], "method": "info",
                "duration": duration if 0 <= duration < 0xFFFFFFFF else 0})

    @guarded
    def onInstantMessage(self, prm: Any) -> None:
        if self.observer is not None:
            if self.on_im is not None:
                self.on_im(self, str(prm.msgBody))
            return
        self.state.emit("call.pager", self.gid, {
            "from_uri": str(prm.fromUri), "mime": str(prm.contentType),
            "body": clip(str(prm.msgBody))})

    @guarded
    def onInstantMessageStatus(self, prm: Any) -> None:
        body = str(prm.msgBody)
        if self.observer is not None:
            if self.on_im_status is not None and self.pagers.reports(body):
                self.on_im_status(self, int(prm.code))
            return
        if self.pagers.reports(body):
            self.state.emit("call.pager_status", self.gid, {
                "body": clip(body), "im_id": self.pagers.done(body), "code": int(prm.code),
                "reason": str(prm.reason)})

    @guarded
    def onCallTsxState(self, prm: Any) -> None:
        """A transaction of the call changed state: a load call that sent an INFO is told its
        final status (a response, or a timeout that ends the transaction without one)."""
        if self.on_info_status is None or prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
            return
        change = prm.e.body.tsxState
        tsx = change.tsx
        if tsx.role != pj.PJSIP_ROLE_UAC or tsx.method != "INFO":
            return
        if tsx.state == pj.PJSIP_TSX_STATE_COMPLETED or (
                tsx.state == pj.PJSIP_TSX_STATE_TERMINATED
                and change.prevState != pj.PJSIP_TSX_STATE_COMPLETED):
            self.on_info_status(self, int(tsx.statusCode))

    @guarded
    def onTypingIndication(self, prm: Any) -> None:
        if self.observer is None:
            self.state.emit("call.typing", self.gid, {"is_typing": bool(prm.isTyping)})

    @guarded
    def onCallMediaState(self, prm: Any) -> None:
        if self.observer is not None:
            if self.on_media is not None:
                self.on_media(self)
            return
        media, direction = media_summary(self.getInfo())
        self.state.emit("call.media_state", self.gid, {"media": media, "dir": direction})


class AgentAccount(pj.Account):  # type: ignore[misc]
    """One account replica on this agent."""

    def __init__(self, state: AgentState, gid: str, uri: str, auto_answer: int | None) -> None:
        super().__init__()
        self.state = state
        self.gid = gid
        self.uri = uri
        self.user = uri_user(uri)
        self.auto_answer = auto_answer
        self.deleting = False
        #: what a restarted coordinator needs to own the account again (agent.holdings): its
        #: owner (routing id in hex, CURVE key), whether this agent is its home, whether it lives
        #: on every agent, and its ACC_SIP settings as acc.create (or acc.modify) gave them
        self.owner = ""
        self.owner_key = ""
        self.persistent = False
        self.home = False
        self.everywhere = False
        self.settings: dict[str, Any] = {}
        #: the registrar URI this replica registers with ("" : it does not register)
        self.registrar = ""
        #: its RFC 5626 instance id when it registers (kept when the account is modified)
        self.instance = ""
        #: im_ids of the messages sent from this account, awaiting their reports
        self.pagers = PagerBook()
        #: how incoming REFER, SUBSCRIBE and Replaces are answered (agent.policy)
        self.policy = policy.policy_of({})
        #: the account's buddies by id (agent.buddy_handlers), deleted before the account
        self.buddies: dict[str, Any] = {}
        #: takes over incoming calls (load-run answering accounts)
        self.on_incoming: Callable[[AgentAccount, int], None] | None = None
        #: takes over registration outcomes (load-run identities: no per-account events)
        self.on_reg: Callable[[AgentAccount, int, bool], None] | None = None

    def shutdown(self) -> None:
        """Delete the account in pjsua; its buddies go first (pjsua2 objects are released in
        dependency order)."""
        self.buddies.clear()
        super().shutdown()

    @guarded
    def onIncomingSubscribe(self, prm: Any) -> None:
        """A watcher's SUBSCRIBE: answered by the account's policy (callbacks never wait)."""
        prm.code = policy.decide(self.policy, "subscribe", 200)
        self.state.emit("acc.incoming_subscribe", self.gid, {
            "from_uri": str(prm.fromUri), "code": int(prm.code)})

    @guarded
    def onRegState(self, prm: Any) -> None:
        active = bool(self.getInfo().regIsActive)
        if self.on_reg is not None:
            self.on_reg(self, int(prm.code), active)
            return
        self.state.emit("acc.reg_state", self.gid, {
            "code": int(prm.code), "reason": str(prm.reason), "active": active,
            "expires": int(prm.expiration) if active else 0, "status": int(prm.status),
            "agent": self.state.name})

    @guarded
    def onInstantMessage(self, prm: Any) -> None:
        self.state.emit("acc.pager", self.gid, {
            "from_uri": str(prm.fromUri), "to_uri": str(prm.toUri),
            "contact": str(prm.contactUri), "mime": str(prm.contentType),
            "body": clip(str(prm.msgBody))})

    @guarded
    def onInstantMessageStatus(self, prm: Any) -> None:
        body = str(prm.msgBody)
        if not self.pagers.reports(body):
            return
        self.state.emit("acc.pager_status", self.gid, {
            "to_uri": str(prm.toUri), "body": clip(body), "im_id": self.pagers.done(body),
            "code": int(prm.code), "reason": str(prm.reason)})

    @guarded
    def onMwiInfo(self, prm: Any) -> None:
        msg = str(prm.rdata.wholeMsg)
        body = msg.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in msg else ""
        self.state.emit("acc.mwi_info", self.gid, {
            "state": _EVSUB_STATES.get(int(prm.state), "NULL"), **mwi.summary(body),
            "body": clip(body)})

    @guarded
    def onTypingIndication(self, prm: Any) -> None:
        self.state.emit("acc.typing", self.gid, {
            "from_uri": str(prm.fromUri), "to_uri": str(prm.toUri),
            "contact": str(prm.contactUri), "is_typing": bool(prm.isTyping)})

    @guarded
    def onIncomingCall(self, prm: Any) -> None:
        state = self.state
        admission.brake(state)  # PJSIP may open the next call's sockets in this same turn
        # PJSIP hands calls for unknown users to some account, and takes truncated datagrams
        # whole: refuse them instead (404, 400). The call is held (as any call) until its
        # DISCONNECTED callback drops it.
        # a draining agent takes no new call (agent.health): 503, the caller tries elsewhere
        code = 400 if framing_error(prm.rdata.wholeMsg) else 503 if state.draining else (
            0 if _addressed_to(prm.rdata.wholeMsg, self.user) else 404)
        if code:
            gid = state.new_incoming_id()
            refused = AgentCall(state, self, gid, prm.callId, observer=_ignore)
            state.calls[gid] = refused
            admission.admit(state, refused, lambda: admission.refuse(refused, code))
            return
        if self.on_incoming is not None and not self.deleting:
            self.on_incoming(self, prm.callId)
            return
        gid = state.new_incoming_id()
        call = AgentCall(state, self, gid, prm.callId)
        call.request_uri = _request_uri(prm.rdata.wholeMsg)
        state.calls[gid] = call
        # served now, or once the socket budget allows (a flood must not cascade)
        admission.admit(state, call, lambda: self._announce(call))

    def _announce(self, call: AgentCall) -> None:
        """Report an incoming call to the coordinator, then refuse or auto-answer it."""
        state, gid = self.state, call.gid
        ci = call.getInfo()
        state.emit("acc.incoming_call", self.gid, {
            "call": gid, "agent": state.name, "remote_uri": ci.remoteUri,
            "local_uri": ci.localUri, "call_id": ci.callIdString,
            "request_uri": clip(call.request_uri)})
        admission.replay(call)  # INCOMING, when PJSIP reported it while the call was parked
        if self.deleting or len(state.calls) > state.capacity:
            op = pj.CallOpParam()
            op.statusCode = 503 if self.deleting else 486
            call.hangup(op)
        elif self.auto_answer is not None:
            ring = float(self.policy.get("ring") or 0.0)
            op = pj.CallOpParam()
            op.statusCode = 180 if ring > 0 else self.auto_answer
            call.answer(op)
            if ring > 0:  # answered from the loop (agent.ringing), ring seconds from now
                state.ringing[call.gid] = (time.monotonic() + ring, self.auto_answer)
