"""Calls: make, answer, hang up, control, DTMF, messages, transfer, information; their events."""

from __future__ import annotations

from proto import limits
from proto.ops.account import REDIRECT_DECISIONS
from proto.ops.fields import (
    ACC_ID,
    AGENT,
    CALL_ID,
    HEADERS,
    ID,
    IM_ID,
    IM_STATUS,
    MIME,
    OWNER,
    PERSISTENT,
    TEXT,
    TYPING,
)
from proto.ops.spec import EventSpec, OpSpec, grouped
from proto.schema import Field

CODE = Field("code", "int", False, "SIP status code", lo=100, hi=699)

REASON = Field("reason", "str", False, "SIP reason phrase", hi=128)

#: audio streams a call may carry (pjsua allows 16; each costs an agent two sockets)
MAX_AUDIO_STREAMS = 4

AUDIO_COUNT = Field("audio_count", "int", False, "audio streams to offer, as pjsua's "
                    "--extra-audio (default 1); each extra stream takes two of the agent's "
                    "sockets. An agent answers one audio stream of an incoming offer (pjsua "
                    "2.15.1 sets the answer's streams when the INVITE arrives)",
                    lo=1, hi=MAX_AUDIO_STREAMS)

REFER_SUB = Field("refer_sub", "bool", False, "false: ask the peer not to report the "
                  "transfer's progress (Refer-Sub: false, RFC 4488; pjsua's --norefersub): one "
                  "call.transfer_status 200 final when the peer accepts the REFER, no NOTIFY "
                  "(default true: NOTIFYs report the peer's new call)")

#: How DTMF digits travel: RFC 2833 telephone-events in RTP, or SIP INFO requests.
DTMF_METHODS = ("rfc2833", "info")

#: The digits call.dial_dtmf accepts.
DTMF_DIGITS = "0123456789*#ABCD"

#: Call states in the order a successful call passes through them.
CALL_STATES = ("NULL", "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED")


OPS = grouped("call", (
    OpSpec("call.make", "account",
           "Make a call from an account. Replies at once with the call id; the outcome comes as "
           "call.state events. Placed on an agent with a free call slot.",
           args=(ACC_ID, Field("uri", "uri", True, "destination SIP URI"), HEADERS,
                 Field("call", "str", False, "pre-chosen call id (idempotent retries)",
                       lo=1, hi=ID), PERSISTENT, AUDIO_COUNT),
           result=(CALL_ID, AGENT),
           agent_args=(CALL_ID, Field("acc_cfg", "map", False,
                                      "account settings, sent when the agent lacks a replica"),
                       *OWNER)),
    OpSpec("call.answer", "call", "Answer an incoming call with a provisional or final code.",
           args=(CALL_ID, Field("code", "int", False, "SIP status code (default 200)",
                                lo=100, hi=699), REASON, HEADERS),
           route="forward"),
    OpSpec("call.hangup", "call", "Hang up (or reject, or cancel) a call.",
           args=(CALL_ID, CODE, REASON, HEADERS),
           route="forward"),
    OpSpec("call.hold", "call",
           "Put a confirmed call on hold (re-INVITE with sendonly SDP). The outcome comes as "
           "call.media_state events: LOCAL_HOLD here, REMOTE_HOLD at the peer.",
           args=(CALL_ID, HEADERS),
           route="forward"),
    OpSpec("call.unhold", "call",
           "Release the hold (re-INVITE with sendrecv SDP); call.media_state ACTIVE follows on "
           "both sides.", args=(CALL_ID, HEADERS),
           route="forward"),
    OpSpec("call.reinvite", "call",
           "Send a re-INVITE with a new SDP offer (the hold state is kept: see call.unhold); "
           "call.media_state follows.", args=(CALL_ID, HEADERS),
           route="forward"),
    OpSpec("call.update", "call",
           "Send an UPDATE with a new SDP offer (the hold state is kept); call.media_state "
           "follows. Also on a ringing call (EARLY: the peer's provisional response made the "
           "dialog), as pjsua does.", args=(CALL_ID, HEADERS),
           route="forward"),
    OpSpec("call.dial_dtmf", "call",
           "Send DTMF digits on a confirmed call, by RFC 2833 telephone-events in the RTP stream "
           "(default) or one SIP INFO (application/dtmf-relay) per digit. The peer reports each "
           "digit it receives as a call.dtmf event.",
           args=(CALL_ID, Field("digits", "str", True, "digits: 0-9, *, #, A-D", lo=1,
                                hi=limits.MAX_DTMF),
                 Field("method", "str", False, "rfc2833 (default) or info",
                       choices=DTMF_METHODS)),
           route="forward"),
    OpSpec("call.send_pager", "call",
           "Send an instant message inside a confirmed call (MESSAGE in its dialog); the delivery "
           "code comes as call.pager_status.",
           args=(CALL_ID, TEXT, MIME, IM_ID, HEADERS),
           route="forward"),
    OpSpec("call.send_typing_ind", "call", "Send a typing indication inside a confirmed call.",
           args=(CALL_ID, TYPING, HEADERS),
           route="forward"),
    OpSpec("call.transfer", "call",
           "Blind transfer: send REFER asking the peer to call a URI. Its progress comes as "
           "call.transfer_status events (the peer's new call, as NOTIFYs tell it); the peer "
           "reports a call.transfer_request.",
           args=(CALL_ID, Field("uri", "uri", True, "the transfer target"), REFER_SUB, HEADERS),
           route="forward"),
    OpSpec("call.transfer_replaces", "call",
           "Attended transfer: send REFER on this call asking the peer to call the remote party "
           "of dest_call with Replaces, so that the peer's new call takes dest_call's place. "
           "Both calls are on the same agent (calls of one account are). Progress comes as "
           "call.transfer_status events; the peer reports a call.transfer_request, the "
           "replaced party a call.replace_request.",
           args=(CALL_ID, Field("dest_call", "str", True, "id of the call to replace (its "
                                "remote party is the transfer target)", lo=1, hi=ID),
                 REFER_SUB, HEADERS),
           route="forward", owns=("call", "dest_call")),
    OpSpec("call.info", "call", "Current call information.",
           args=(CALL_ID,),
           result=(Field("state", "str", True, "state name"),
                   Field("role", "str", True, "caller | callee"),
                   Field("remote_uri", "str", True, "remote party"),
                   Field("local_uri", "str", True, "local party"),
                   Field("call_id", "str", True, "SIP Call-ID"),
                   Field("code", "int", True, "last status code"),
                   Field("reason", "str", True, "last reason phrase"),
                   Field("connect_s", "float", True, "seconds since connected"),
                   Field("total_s", "float", True, "seconds since the call began"),
                   Field("media", "str", True, "media state name"),
                   Field("codec", "str", True, "negotiated audio codec, e.g. PCMU/8000 ('' "
                         "before media)"),
                   Field("media_proto", "str", False, "the audio stream's transport as the SDP "
                         "names it: RTP/AVP, RTP/SAVP (SRTP, SDES keys) or UDP/TLS/RTP/SAVP "
                         "(DTLS-SRTP); '' before media"),
                   Field("audio_streams", "int", False, "audio streams in use (more than one "
                         "with audio_count; 0 before media)", lo=0),
                   Field("local_contact", "str", True, "this side's Contact (its transport "
                         "parameter names the SIP transport: ;transport=tcp / tls)"),
                   Field("remote_contact", "str", True, "the peer's Contact")),
           route="forward"),
    OpSpec("call.stats", "call",
           "RTP statistics of the call's audio stream (from RTP and RTCP), with a MOS estimate "
           "(simplified E-model: round trip, jitter, loss).",
           args=(CALL_ID,),
           result=(Field("codec", "str", True, "negotiated audio codec, e.g. PCMU/8000"),
                   Field("duration_s", "float", True, "seconds since the call was answered (the "
                         "stream's age)"),
                   Field("tx_packets", "int", True, "RTP packets sent", lo=0),
                   Field("tx_bytes", "int", True, "RTP payload bytes sent", lo=0),
                   Field("rx_packets", "int", True, "RTP packets received", lo=0),
                   Field("rx_bytes", "int", True, "RTP payload bytes received", lo=0),
                   Field("rx_loss", "int", True, "packets lost (by sequence numbers)", lo=0),
                   Field("rx_loss_pct", "float", True, "loss in percent of expected", lo=0),
                   Field("rx_dup", "int", True, "duplicate packets", lo=0),
                   Field("rx_reorder", "int", True, "packets out of order", lo=0),
                   Field("jitter_ms", "float", True, "mean receive jitter", lo=0),
                   Field("tx_loss", "int", True, "packets the peer reports lost (RTCP)", lo=0),
                   Field("peer_jitter_ms", "float", True, "mean jitter the peer reports (RTCP)",
                         lo=0),
                   Field("rtt_ms", "float", True, "mean round trip from RTCP (0: none yet)",
                         lo=0),
                   Field("mos", "float", True, "MOS estimate, 1.0 .. 4.5", lo=1, hi=4.5)),
           route="forward"),
))

EVENTS = grouped("call", (
    EventSpec("call.state", "call", "The call's INVITE session changed state.",
              data=(Field("state", "str", True, "CALLING | INCOMING | EARLY | CONNECTING | "
                          "CONFIRMED | DISCONNECTED"),
                    Field("code", "int", True, "last SIP status code (0 if none)"),
                    Field("reason", "str", True, "last reason phrase, or worker_lost / shutdown / recycle"),
                    Field("remote_uri", "str", True, "remote party"),
                    Field("call_id", "str", True, "SIP Call-ID"),
                    Field("role", "str", True, "caller | callee"),
                    Field("agent", "str", True, "agent holding the call"),
                    Field("adopted", "bool", False, "sent by a restarted coordinator that "
                          "re-adopted the call: its current state, numbered as the last event "
                          "its agent sent (section 9, Adoption)"))),
    EventSpec("call.media_state", "call", "The call's media changed (active, hold, none).",
              data=(Field("media", "str", True, "NONE | ACTIVE | LOCAL_HOLD | REMOTE_HOLD | ERROR"),
                    Field("dir", "str", True, "none | send | recv | sendrecv"))),
    EventSpec("call.dtmf", "call", "The call received one DTMF digit (either method).",
              data=(Field("digit", "str", True, "the digit: 0-9, *, #, A-D", lo=1, hi=1),
                    Field("method", "str", True, "how it came: rfc2833 or info",
                          choices=DTMF_METHODS),
                    Field("duration", "int", True, "its duration in ms, as a SIP INFO gives "
                          "it (0: not given, and always for RFC 2833, whose digits are told as "
                          "they begin)", lo=0))),
    EventSpec("call.transfer_request", "call",
              "The peer asked this call to transfer (REFER), and the account's policy answered. "
              "When accepted, the new call's id comes here, before that call's own call.state "
              "events; it belongs to the same account and client.",
              data=(Field("uri", "str", True, "the transfer target"),
                    Field("code", "int", True, "the response sent: 202 accepted, or the "
                          "rejection code", lo=100, hi=699),
                    Field("new_call", "str", True, "id of the new call ('' if rejected)", hi=ID),
                    AGENT)),
    EventSpec("call.replace_request", "call",
              "An INVITE with Replaces names this call (attended transfer) and the account's "
              "policy answered. When accepted, the new call's id comes here, before its own "
              "call.state events (it belongs to the same account and client, and is answered "
              "at once); this call then ends.",
              data=(Field("code", "int", True, "the answer: 200 accepted, or the rejection "
                          "code", lo=100, hi=699),
                    Field("new_call", "str", True, "id of the new call ('' if rejected)",
                          hi=ID),
                    Field("from_uri", "str", True, "who sent the INVITE (the transferee)"),
                    AGENT)),
    EventSpec("call.redirected", "call",
              "The call's INVITE got a 3xx answer, and the account's redirect policy decided: "
              "follow (the call is sent on to the target and keeps its id) or stop (the call "
              "ends; its call.state DISCONNECTED carries the 3xx code and reason, where pjsua "
              "would say 487).",
              data=(Field("target", "str", True, "the 3xx's Contact URI the call would go to"),
                    Field("decision", "str", True, "follow or stop", choices=REDIRECT_DECISIONS),
                    AGENT)),
    EventSpec("call.transfer_status", "call",
              "Progress of a transfer this call asked for: the transferee's new call, as its "
              "NOTIFYs report it (100 trying, 180 ringing, 200 answered, or a failure).",
              data=(Field("code", "int", True, "the new call's last status", lo=0, hi=699),
                    Field("reason", "str", True, "reason phrase"),
                    Field("final", "bool", True, "the last report of this transfer"))),
    EventSpec("call.pager", "call", "An instant message arrived inside the call.",
              data=(Field("from_uri", "str", True, "sender"),
                    Field("mime", "str", True, "content type"),
                    Field("body", "str", True, "message body"))),
    EventSpec("call.pager_status", "call", "The outcome of a call.send_pager.", data=IM_STATUS),
    EventSpec("call.typing", "call", "A typing indication arrived inside the call.",
              data=(Field("is_typing", "bool", True, "typing or stopped typing"),)),
))
