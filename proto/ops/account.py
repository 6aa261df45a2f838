"""Accounts: create, delete, register, modify, policy, presence, messages; their events."""

from __future__ import annotations

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
    SIP_TRANSPORTS,
    TEXT,
    TYPING,
)
from proto.ops.spec import EventSpec, OpSpec, grouped
from proto.schema import Field

#: What an account does with a 3xx answer to its outgoing call (acc.set_policy redirect).
REDIRECT_DECISIONS = ("follow", "stop")

#: An account's decisions for requests that pjsua2 settles inside a callback, set in advance.
ACC_POLICY = (
    Field("transfer", "str", False, "incoming REFER: reject (default: a peer must not make the "
          "agent dial anywhere unless the account opts in) or accept (the call makes the new "
          "call)", choices=("accept", "reject")),
    Field("transfer_code", "int", False, "the response to a rejected REFER (default 603)",
          lo=300, hi=699),
    Field("subscribe", "str", False, "incoming presence SUBSCRIBE: accept (default: the watcher "
          "gets NOTIFYs of the account's status) or reject", choices=("accept", "reject")),
    Field("subscribe_code", "int", False, "the response to a rejected SUBSCRIBE (default 403)",
          lo=300, hi=699),
    Field("replaces", "str", False, "incoming INVITE with Replaces (attended transfer): accept "
          "(default: the new call replaces the named one) or reject",
          choices=("accept", "reject")),
    Field("replaces_code", "int", False, "the response to a rejected Replaces INVITE (default "
          "603)", lo=300, hi=699),
    Field("redirect", "str", False, "a 3xx answer to the account's outgoing call: stop (default, "
          "as pjsua2: the call ends with the 3xx code) or follow (the call is sent on to the "
          "Contact target)", choices=REDIRECT_DECISIONS),
    Field("ring", "float", False, "with auto_answer: seconds an incoming call rings (180 "
          "Ringing) before the agent answers it (default 0: at once)", lo=0, hi=3600),
)

#: An account's call options, as pjsua's: reliable provisional responses (RFC 3262), session
#: timers (RFC 4028), SRTP and codec locking. Defaults: pjsua2's for an account (none of them
#: but codec locking).
SESSION = (
    Field("require_100rel", "str", False, "reliable provisional responses (100rel, PRACK): no "
          "(default), optional (used when the peer supports them) or mandatory (required of "
          "every call)", choices=("no", "optional", "mandatory")),
    Field("use_timer", "str", False, "session timers: inactive (default), optional (used when "
          "the peer asks), required (the peer must support them) or always (asked of every "
          "call)", choices=("inactive", "optional", "required", "always")),
    Field("timer_se", "int", False, "session timers: Session-Expires asked for, seconds "
          "(default 1800); the refresher sends a re-INVITE or UPDATE at half of it",
          lo=90, hi=86400),
    Field("timer_min_se", "int", False, "session timers: the smallest Session-Expires accepted "
          "(Min-SE, default 90)", lo=90, hi=86400),
    Field("use_srtp", "str", False, "SRTP for the calls' media: disabled (default), optional "
          "(offered as RTP/AVP with keys, used when the peer takes it) or mandatory (RTP/SAVP: "
          "no media without it)", choices=("disabled", "optional", "mandatory")),
    Field("srtp_keying", "str", False, "how SRTP keys are exchanged, in order of preference: "
          "sdes (keys in the SDP: readable by anyone who reads the signalling, so use it over "
          "TLS), dtls (DTLS-SRTP: keys negotiated on the media path), sdes,dtls or dtls,sdes "
          "(default sdes,dtls)", choices=("sdes", "dtls", "sdes,dtls", "dtls,sdes")),
    Field("srtp_secure_signaling", "int", False, "SRTP only over secure signalling: 0 (default: "
          "any transport), 1 (TLS hop), 2 (sips: end to end)", lo=0, hi=2),
    Field("lock_codec", "bool", False, "codec locking, as pjsua's: when the peer answers an "
          "offer with several codecs, send an UPDATE (or re-INVITE) offering only the one in use "
          "(default true); in a ringing call only when the answer came in a reliable provisional "
          "response and the peer allows UPDATE, else once the call is answered"),
    Field("sdp_attrs", "sdp_attrs", False, "SDP attributes added to the audio media of every "
          "offer and answer of the account (e.g. label:main, content:main), without the a="),
)

#: An account's SIP settings beyond its id URI: registration, digest credentials, proxy. The
#: credentials are kept by the coordinator and its agents and never reported back.
ACC_SIP = (
    Field("registrar", "uri", False, "registrar URI (e.g. sip:example.org); absent: the account "
          "does not register"),
    Field("username", "str", False, "digest user name", lo=1, hi=128),
    Field("password", "str", False, "digest password; never appears in replies, events, logs or "
          "status", hi=128),
    Field("realm", "str", False, "digest realm (default *: any realm)", lo=1, hi=128),
    Field("expires", "int", False, "registration expiry asked for, seconds (default 300)",
          lo=30, hi=86400),
    Field("proxy", "uri", False, "outbound proxy that every request of the account goes "
          "through (;lr is added when missing)"),
    Field("transport", "str", False, "the SIP transport the account is bound to: its requests "
          "and its Contact use it (as pjsua's account for a transport); the account is placed on "
          "an agent listening on it and its calls stay there", choices=SIP_TRANSPORTS),
    *SESSION,
    Field("mwi", "bool", False, "subscribe to message waiting indications (RFC 3842, Event: "
          "message-summary) at the account's own address, from its home agent: each NOTIFY "
          "comes as acc.mwi_info (unsolicited ones too)"),
    Field("mwi_expires", "int", False, "the MWI subscription's expiry, seconds (default 3600)",
          lo=60, hi=86400),
)

#: The settings acc.modify replaces: the ACC_SIP fields but the transport, which placed the
#: account on its agents.
ACC_SETTINGS = tuple(f for f in ACC_SIP if f.name != "transport")

#: RPID activities of a presence status.
PRESENCE_ACTIVITIES = ("unknown", "away", "busy")


OPS = grouped("account", (
    OpSpec("acc.create", "agent",
           "Create an account on the agent holding the fewest accounts; replies once that agent has "
           "created it (another agent is tried if it is full). With a registrar, the account "
           "registers from that agent (its home): the outcome comes as acc.reg_state events. "
           "Replicas made on other agents for calls use the proxy and credentials, never register.",
           args=(Field("uri", "uri", True, "account id URI, e.g. sip:alice@127.0.0.1"),
                 Field("auto_answer", "int", False, "answer incoming calls at once with this code",
                       lo=100, hi=699),
                 Field("acc", "str", False, "pre-chosen account id (idempotent retries)",
                       lo=1, hi=ID),
                 Field("agent", "str", False, "create it on this agent (e.g. the agent of a "
                       "transport from lib.transports)", lo=1, hi=ID),
                 Field("replicas", "str", False, "all: create (and register) it on every ready "
                       "agent: its AOR gets one contact per agent, its calls go round robin over "
                       "them; home (default): on one agent", choices=("home", "all")),
                 PERSISTENT, *ACC_SIP, *ACC_POLICY),
           result=(ACC_ID, AGENT, Field("contact", "str", True,
                                        "a URI that reaches the account at its agent"),
                   Field("replicas", "list", False, "with replicas=all: the agents that hold "
                         "it")),
           agent_args=(ACC_ID, *OWNER,
                       Field("home", "bool", False, "this agent is the account's home (default "
                             "false: a replica); kept for a restarted coordinator"))),
    OpSpec("acc.delete", "account", "Delete an account and its replicas. Its live calls are hung up.",
           args=(ACC_ID,)),
    OpSpec("acc.set_registration", "account",
           "Register again (renew=true, also a refresh) or unregister (renew=false) an account that "
           "has a registrar, from its home agent; the outcome comes as an acc.reg_state event.",
           args=(ACC_ID, Field("renew", "bool", True, "true: register; false: unregister"))),
    OpSpec("acc.modify", "account",
           "Replace the account's SIP settings (as pjsua2 Account.modify): registrar, proxy, "
           "credentials, expiry. The settings given replace all the previous ones (a field left "
           "out is unset: without registrar the account unregisters and no longer registers); "
           "the id URI, transport and policy stay. The home agent applies them first and its "
           "reply answers; every other replica then gets them, and a replica made later (or "
           "on a new home after a loss) is made with them. When the registration settings "
           "change, the account registers anew: the outcome comes as acc.reg_state.",
           args=(ACC_ID, *ACC_SETTINGS),
           agent_args=(Field("register", "bool", False, "this replica registers (the home, "
                             "or any replica of an account on every agent; default true)"),
                       Field("transport", "str", False, "the transport the account is bound "
                             "to", choices=SIP_TRANSPORTS))),
    OpSpec("acc.set_policy", "account",
           "Set how the account (all its replicas) answers requests that pjsua2 decides inside a "
           "callback: incoming REFER (transfer), presence SUBSCRIBE, INVITE with Replaces, and a "
           "3xx answer to an outgoing call (redirect). Fields left out keep their value.",
           args=(ACC_ID, *ACC_POLICY)),
    OpSpec("acc.set_presence", "account",
           "Set the account's presence (basic online/offline, an RPID activity and a note): every "
           "watcher whose SUBSCRIBE the account accepted gets a NOTIFY.",
           args=(ACC_ID, Field("online", "bool", True, "online (open) or offline (closed)"),
                 Field("activity", "str", False, "RPID activity (default unknown)",
                       choices=PRESENCE_ACTIVITIES),
                 Field("note", "str", False, "free text (e.g. 'in a meeting')", hi=256)),
           route="forward"),
    OpSpec("acc.send_pager", "account",
           "Send an instant message (SIP MESSAGE, outside any call) from the account's home agent "
           "to a URI; the delivery code comes as acc.pager_status.",
           args=(ACC_ID, Field("uri", "uri", True, "destination URI"), TEXT, MIME, IM_ID,
                 HEADERS),
           route="forward"),
    OpSpec("acc.send_typing_ind", "account",
           "Send a typing indication (RFC 3994 MESSAGE) from the account to a URI.",
           args=(ACC_ID, Field("uri", "uri", True, "destination URI"), TYPING, HEADERS),
           route="forward"),
))

EVENTS = grouped("account", (
    EventSpec("acc.incoming_call", "account",
              "A call arrived for the account. Its call.state events follow this one.",
              data=(CALL_ID, AGENT,
                    Field("remote_uri", "str", True, "caller"),
                    Field("local_uri", "str", True, "callee"),
                    Field("call_id", "str", True, "SIP Call-ID"),
                    Field("request_uri", "str", False, "the INVITE's Request-URI: the address "
                          "the call was made to (a SIP front's, when one sent it here)"))),
    EventSpec("acc.moved", "account",
              "The account's home agent went away (lost or shut down) and the coordinator re-created "
              "the account on another agent: its new agent and contact. Issued by the coordinator "
              "in the account's numbering.",
              data=(AGENT, Field("contact", "str", True, "a URI that reaches the account at its "
                                 "new agent"),
                    Field("from", "str", True, "the agent it was on"),
                    Field("reason", "str", True, "worker_lost | shutdown | recycle (the agent "
                          "drained to restart itself)"))),
    EventSpec("acc.reg_state", "account",
              "A REGISTER of the account (registration, refresh or unregistration) completed or "
              "failed. Failed authentication (401/403) is not retried by the agent.",
              data=(Field("code", "int", True, "SIP status code of the last REGISTER response "
                          "(0 if none came back)", lo=0, hi=699),
                    Field("reason", "str", True, "reason phrase, or PJSIP's error text"),
                    Field("active", "bool", True, "the account is registered now"),
                    Field("expires", "int", True, "seconds the registration lasts (0: not "
                          "registered)", lo=0),
                    Field("status", "int", True, "pj_status_t of the attempt (0: success)"),
                    AGENT)),
    EventSpec("acc.pager", "account", "An instant message arrived for the account (outside a call).",
              data=(Field("from_uri", "str", True, "sender"),
                    Field("to_uri", "str", True, "recipient (To)"),
                    Field("contact", "str", True, "sender's Contact (empty if none)"),
                    Field("mime", "str", True, "content type"),
                    Field("body", "str", True, "message body"))),
    EventSpec("acc.pager_status", "account", "The outcome of an acc.send_pager.",
              data=(Field("to_uri", "str", True, "destination"), *IM_STATUS)),
    EventSpec("acc.mwi_info", "account",
              "A message waiting indication (a NOTIFY of message-summary, RFC 3842) arrived for "
              "the account: its subscription's, or unsolicited.",
              data=(Field("state", "str", True, "the subscription's state: ACCEPTED, PENDING, "
                          "ACTIVE, TERMINATED, or NULL for an unsolicited NOTIFY"),
                    Field("waiting", "bool", True, "Messages-Waiting: yes"),
                    Field("voice_new", "int", True, "new voice messages (Voice-Message: "
                          "new/old; 0 when absent)", lo=0),
                    Field("voice_old", "int", True, "old voice messages", lo=0),
                    Field("body", "str", True, "the message-summary body as received"))),
    EventSpec("acc.typing", "account", "A typing indication arrived for the account.",
              data=(Field("from_uri", "str", True, "sender"),
                    Field("to_uri", "str", True, "recipient (To)"),
                    Field("contact", "str", True, "sender's Contact (empty if none)"),
                    Field("is_typing", "bool", True, "typing or stopped typing"))),
    EventSpec("acc.incoming_subscribe", "account",
              "A watcher subscribed to the account's presence; the account's policy answered.",
              data=(Field("from_uri", "str", True, "the watcher"),
                    Field("code", "int", True, "the response sent (200 accepted, or the "
                          "rejection code)", lo=100, hi=699))),
))
