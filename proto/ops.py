"""The registry of every op and event: names, argument fields, replies. Docs are generated from it."""

from __future__ import annotations

from dataclasses import dataclass

from proto import limits
from proto.schema import Field


@dataclass(frozen=True)
class OpSpec:
    """One request type.

    ``target`` says who executes it: ``coordinator`` (answered by the coordinator alone),
    ``agent`` (placed on an agent by the coordinator), ``account``/``call``/``buddy`` (routed to
    the agent that holds that object; a buddy lives on its account's home agent), or
    ``agent-to-coordinator`` (sent by agents). ``agent_args`` are extra fields only the
    coordinator adds when it forwards the request to an agent.
    """

    name: str
    target: str
    doc: str
    args: tuple[Field, ...] = ()
    result: tuple[Field, ...] = ()
    agent_args: tuple[Field, ...] = ()


@dataclass(frozen=True)
class EventSpec:
    """One event type: ``obj`` is the id of the object it is about."""

    name: str
    obj: str
    doc: str
    data: tuple[Field, ...] = ()


_ID = limits.MAX_ID
ACC_ID = Field("acc", "str", True, "account id", lo=1, hi=_ID)
CALL_ID = Field("call", "str", True, "call id", lo=1, hi=_ID)
CODE = Field("code", "int", False, "SIP status code", lo=100, hi=699)
REASON = Field("reason", "str", False, "SIP reason phrase", hi=128)
HEADERS = Field("headers", "headers", False, "extra SIP headers, name -> value")
AGENT = Field("agent", "str", True, "name of the agent that holds the object")
#: who owns an object an agent creates: kept by the agent and reported in its hello
#: ``holdings``, so that a restarted coordinator can give the object back to its owner
OWNER = (Field("owner", "str", False, "the owning client's routing id, hex (the agent keeps it "
               "for a restarted coordinator, section 9)", hi=2 * 255),
         Field("owner_key", "str", False, "the owning client's CURVE public key (Z85), when "
               "CURVE is on", hi=64))

#: How DTMF digits travel: RFC 2833 telephone-events in RTP, or SIP INFO requests.
DTMF_METHODS = ("rfc2833", "info")
#: The digits call.dial_dtmf accepts.
DTMF_DIGITS = "0123456789*#ABCD"

#: The SIP transports an agent may listen on (`callfleet agent --transports`).
SIP_TRANSPORTS = ("udp", "tcp", "tls")

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
)

_TEXT = Field("text", "str", True, "the message body", hi=limits.MAX_PAGER)
_MIME = Field("content_type", "str", False, "its MIME type (default text/plain)", lo=3, hi=128)
_IM_ID = Field("im_id", "int", False, "a number of the caller's choosing, reported back by the "
               "pager_status event (default 0)", lo=0, hi=2**31 - 1)
_TYPING = Field("is_typing", "bool", False, "typing (default true) or stopped typing")
_IM_STATUS = (
    Field("body", "str", True, "the body of the message it is about"),
    Field("im_id", "int", True, "the im_id given when sending (0 if none; for several messages "
          "with the same body in flight, matched in sending order)", lo=0),
    Field("code", "int", True, "SIP status code of the MESSAGE (200/202: delivered)", lo=0,
          hi=699),
    Field("reason", "str", True, "reason phrase"),
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
)

#: The settings acc.modify replaces: the ACC_SIP fields but the transport, which placed the
#: account on its agents.
ACC_SETTINGS = tuple(f for f in ACC_SIP if f.name != "transport")

#: RPID activities of a presence status.
PRESENCE_ACTIVITIES = ("unknown", "away", "busy")
#: A buddy's presence status.
BUDDY_STATUSES = ("unknown", "online", "offline")
_BUDDY_ID = Field("buddy", "str", True, "buddy id", lo=1, hi=_ID)
_BUDDY_INFO = (
    Field("uri", "str", True, "the buddy's URI"),
    Field("contact", "str", True, "its Contact, once known ('' before)"),
    Field("status", "str", True, "unknown | online | offline", choices=BUDDY_STATUSES),
    Field("status_text", "str", True, "the status as text (e.g. Online, Offline)"),
    Field("note", "str", True, "the note the buddy published ('' if none)"),
    Field("activity", "str", True, "its RPID activity: unknown | away | busy"),
    Field("monitoring", "bool", True, "its presence is subscribed"),
    Field("sub_state", "str", True, "subscription state: NULL | SENT | ACCEPTED | PENDING | "
          "ACTIVE | TERMINATED | UNKNOWN"),
    Field("sub_code", "int", True, "the last SUBSCRIBE/NOTIFY status that ended it (0: none)",
          lo=0, hi=699),
    Field("sub_reason", "str", True, "why the subscription ended ('' while it lasts)"),
)

RUN_ID = Field("run", "str", True, "load run id", lo=1, hi=_ID)
_PROFILE = (
    Field("rate", "float", True, "calls per second (spread over the agents)", lo=0.001, hi=100000),
    Field("ramp", "float", False, "seconds of linear ramp up to the rate", lo=0, hi=86400),
    Field("calls", "int", False, "total calls (0: until duration)", lo=0, hi=100_000_000),
    Field("duration", "float", False, "seconds to keep starting calls (0: until calls)",
          lo=0, hi=86400 * 7),
    Field("max_concurrent", "int", False, "most calls up at once (0: what the fleet holds)",
          lo=0, hi=1_000_000),
    Field("hold", "str", False, "call hold time: S, exp:MEAN or uniform:A:B (default 1)", hi=64),
    Field("targets", "list", False, "URIs called round robin (instead of self)"),
    Field("self", "bool", False, "the fleet answers its own calls"),
    Field("answer_delay", "float", False, "seconds of ringing before the answer (self)",
          lo=0, hi=3600),
    Field("answer_codes", "str", False, "answer code mix, e.g. 200 or 200:90,486:10 (self)",
          hi=256),
    Field("hangup", "str", False, "who hangs up: caller (default) or callee",
          choices=("caller", "callee")),
    Field("agents", "int", False, "use at most this many agents (0: all)", lo=0, hi=100000),
    Field("dtmf", "str", False, "DTMF digits sent after answer (verified at the far end when "
          "self)", hi=32),
    Field("dtmf_method", "str", False, "rfc2833 (default) or info", choices=("rfc2833", "info")),
    Field("callers", "int", False, "calling identities over the fleet (0: one per calling agent)",
          lo=0, hi=100000),
    Field("registrar", "uri", False, "registrar (and outbound proxy) every identity registers "
          "with; needs credentials"),
    Field("credentials", "list", False, "identities for a registrar run: maps of user, password "
          "and optional domain (default: the registrar's host); used in order, callers first, "
          "then (self) one answering identity per agent. Never echoed in reports or events"),
    Field("media", "str", False, "what load calls send: silence (default), tone (both ends send "
          "a tone; the end that hangs up checks it hears one) or wav:PATH (a WAV file on every "
          "agent's host, looped)", lo=1, hi=1024),
    Field("run", "str", False, "pre-chosen run id", lo=1, hi=_ID),
)

_AGENT_INFO = (
    Field("name", "str", True, "unique agent name", lo=1, hi=limits.MAX_AGENT_NAME),
    Field("host", "str", True, "host name"),
    Field("pid", "int", True, "process id", lo=0),
    Field("sip", "list", True, "SIP listening addresses, e.g. udp:127.0.0.1:5060"),
    Field("capacity", "int", True, "most concurrent calls", lo=0, hi=64),
    Field("max_accounts", "int", False, "most accounts (default 8)", lo=0, hi=1024),
    Field("pjsip", "str", True, "PJSIP version"),
    Field("calls", "int", False, "live calls at hello time", lo=0),
    Field("accounts", "int", False, "accounts held at hello time", lo=0),
    Field("media", "int", False, "media objects held at hello time", lo=0),
    Field("admitted_by", "str", False, "id of the coordinator that admitted the agent last "
          "(absent: none yet)", hi=64),
    Field("holdings", "map", False, "what the agent holds, for a restarted coordinator to adopt "
          "(section 9, Adoption): accounts, calls, media (lists of maps) and ids (the highest "
          "number of a coordinator-issued id it has seen); absent when it holds nothing or "
          "when they would not fit in a frame"),
    Field("loads", "list", False, "with holdings: the agent's parts of load runs, one map each: "
          "run, owner, owner_key, profile, elapsed, slots, released, ending, reports (how many "
          "load.stats it sent) and the load.stats fields summed over those reports"),
)
_LOAD = (
    Field("calls", "int", True, "live calls", lo=0),
    Field("capacity", "int", True, "most concurrent calls", lo=0, hi=64),
    Field("sockets_free", "int", True, "sockets left in the agent's budget", lo=0),
    Field("accounts", "int", True, "accounts held", lo=0),
)

# -- media objects on an agent (tone generators, WAV players and recorders, the conference
# bridge), codecs and sound devices
MEDIA_ID = Field("media", "str", True, "media object id (player, recorder or tone generator)",
                 lo=1, hi=_ID)
#: Longest WAV file path (on the agent's host) a player or recorder accepts.
MAX_PATH = 1024
_MEDIA_PLACE = (
    Field("agent", "str", False, "the agent that holds the object (give this or call)",
          lo=1, hi=_ID),
    Field("call", "str", False, "put the object on the agent holding this call", lo=1, hi=_ID),
)
_MEDIA_MADE = (MEDIA_ID, AGENT, Field("slot", "int", True, "its port in the agent's conference "
                                      "bridge (meaningful on that agent only)", lo=0))
_WAV = Field("filename", "str", True, "absolute path of a .wav file on the agent's host",
             lo=1, hi=MAX_PATH)
#: a media object or a call: an end of a conference bridge connection
_CONF_ENDS = (
    Field("src", "str", True, "id of the source: a call, a player or a tone generator",
          lo=1, hi=_ID),
    Field("dst", "str", True, "id of the sink: a call or a recorder", lo=1, hi=_ID),
)
_CONF_PORTS = (AGENT, Field("src_slot", "int", True, "the source's bridge port", lo=0),
               Field("dst_slot", "int", True, "the sink's bridge port", lo=0))

MEDIA_OPS = (
    OpSpec("media.create_tone", "agent",
           "Create a tone generator (pjsua2 ToneGenerator) on an agent, playing a dual-frequency "
           "tone at once and until destroyed; connect it with media.conf_connect.",
           args=(*_MEDIA_PLACE,
                 Field("freq1", "int", True, "first frequency, Hz", lo=1, hi=8000),
                 Field("freq2", "int", False, "second frequency, Hz (default 0: none)",
                       lo=0, hi=8000),
                 Field("on_ms", "int", False, "tone on, ms (default 0: continuous)",
                       lo=0, hi=60000),
                 Field("off_ms", "int", False, "silence after each tone, ms (default 0)",
                       lo=0, hi=60000)),
           result=_MEDIA_MADE, agent_args=OWNER),
    OpSpec("media.create_player", "agent",
           "Create a WAV file player on an agent (16-bit PCM mono WAV). Without loop it plays the "
           "file once; at its end (each end, with loop) comes a media.player_eof event.",
           args=(*_MEDIA_PLACE, _WAV,
                 Field("loop", "bool", False, "start again at the end (default false)")),
           result=_MEDIA_MADE, agent_args=OWNER),
    OpSpec("media.create_recorder", "agent",
           "Create a WAV file recorder on an agent: it records what is connected to it (16-bit "
           "PCM mono at the bridge's clock rate). PJSIP completes the file (its header) on the bridge's "
           "next clock tick after media.destroy.",
           args=(*_MEDIA_PLACE, _WAV), result=_MEDIA_MADE, agent_args=OWNER),
    OpSpec("media.player_set_pos", "media", "Move a player to a sample position.",
           args=(MEDIA_ID, Field("pos", "int", True, "position, samples from the start",
                                 lo=0, hi=2**31 - 1))),
    OpSpec("media.destroy", "media",
           "Destroy a player, recorder or tone generator (its connections go with it).",
           args=(MEDIA_ID,)),
    OpSpec("media.conf_connect", "media",
           "Connect a source to a sink in the conference bridge of the agent that holds both "
           "(a call's audio, a player or tone into a call or a recorder; two calls' audio: a "
           "bridge, both ways a conference). Both must be on the same agent (E_CROSS_AGENT).",
           args=_CONF_ENDS, result=_CONF_PORTS),
    OpSpec("media.conf_disconnect", "media", "Undo a media.conf_connect.", args=_CONF_ENDS,
           result=_CONF_PORTS),
)

MEDIA_EVENTS = (
    EventSpec("media.player_eof", "media",
              "A player reached the end of its file (with loop it starts again; without, it "
              "stays silent at the end).",
              data=(AGENT, Field("loop", "bool", True, "the player loops"))),
)

#: a codec priority: 0 disables the codec, higher is preferred (PJSIP's range)
CODEC_PRIO = Field("priority", "int", True, "0 (disabled) .. 255 (most preferred)", lo=0, hi=255)
_ON_AGENT = Field("agent", "str", False, "the agent to ask (default: the first one)",
                  lo=1, hi=_ID)

CODEC_OPS = (
    OpSpec("lib.enum_codecs", "agent",
           "The audio codecs of an agent's build with their priorities (every agent runs the same "
           "build; priorities may differ per agent).",
           args=(_ON_AGENT,),
           result=(AGENT, Field("codecs", "list", True, "one map per codec: id (e.g. "
                                "PCMU/8000/1), name, priority, clock_rate, channels"))),
    OpSpec("lib.set_codec_priority", "agent",
           "Set a codec's priority on one agent, or on every agent (the coordinator remembers it "
           "and sets it on agents that join later). 0 disables the codec: a call whose offer "
           "has no enabled codec in common is refused with 488.",
           args=(Field("codec", "str", True, "codec id or its prefix (PCMU, PCMU/8000/1, speex/"
                       "16000)", lo=1, hi=64), CODEC_PRIO,
                 Field("agent", "str", False, "only this agent (default: every agent)",
                       lo=1, hi=_ID)),
           result=(Field("agents", "list", True, "the agents that set it"),
                   Field("codecs", "list", True, "the codec ids it matched"))),
    OpSpec("lib.enum_snd_dev", "agent",
           "The sound devices an agent's build offers (the pjsua2-python wheel offers none: "
           "only the null device, which is not listed) and the one in use.",
           args=(_ON_AGENT,),
           result=(AGENT, Field("devices", "list", True, "one map per device: id, name, driver, "
                                "input_count, output_count"),
                   Field("audio", "str", True, "in use: null (the null device clocks media), "
                         "none (no device, no media clock) or a device name"))),
)
# -- end of media objects, codecs and sound devices

OPS: dict[str, OpSpec] = {op.name: op for op in (
    OpSpec("lib.agents", "coordinator", "List connected agents with capacity and load.",
           result=(Field("agents", "list", True, "one map per agent: name, host, pid, sip, "
                         "capacity, calls, free, sockets_free, accounts, max_accounts, pjsip, "
                         "alive, state (ready | draining | recycling | resetting | leaving), "
                         "and the health figures of its last heartbeat: bridge_used, bridge_max, "
                         "bridge_leaked, sockets, sockets_leaked, fds, rss_kb (section 9, "
                         "Health)"),)),
    OpSpec("lib.status", "coordinator", "Fleet summary: agents, accounts and calls.",
           result=(Field("agents", "list", True, "as lib.agents"),
                   Field("accounts", "int", True, "accounts held"),
                   Field("calls", "int", True, "live calls"),
                   Field("version", "int", True, "protocol version"),
                   Field("loads", "list", True, "running load runs: run id + load.progress data"),
                   Field("client_queue", "int", True, "messages the coordinator queues at most "
                         "for one client connection (beyond: dropped, see events.gap)", lo=1),
                   Field("dropped", "int", True, "messages dropped to client connections since "
                         "the coordinator started (queue full or not connected)", lo=0),
                   Field("gaps_owed", "int", True, "client connections owed an events.gap "
                         "notice", lo=0),
                   Field("busy_refused", "int", False, "requests refused with E_BUSY since the "
                         "coordinator started (a connection's budget was spent)", lo=0),
                   Field("held", "int", False, "requests waiting now for their connection's "
                         "earlier ones (section 10, Budgets)", lo=0),
                   Field("firehose", "map", False, "the PUB firehose: subscribers (connections "
                         "now), max_subscribers, refused (connections refused for the cap), "
                         "skipped (events too large to publish there)"),
                   Field("adopting", "float", False, "seconds left in the adoption window of "
                         "a (re)started coordinator (section 9; 0: closed)", lo=0))),
    # -- transports, presence, attended transfer (one block) --
    OpSpec("lib.transports", "coordinator",
           "Every SIP transport the ready agents listen on (chosen at agent start: "
           "`callfleet agent --transports udp,tcp,tls`).",
           result=(Field("transports", "list", True, "one map per transport: agent, type (udp | "
                         "tcp | tls), host, port"),)),
    OpSpec("acc.add_buddy", "account",
           "Add a buddy (a presence URI to watch) to the account, on its home agent; with "
           "subscribe=true its presence is subscribed at once (SUBSCRIBE). Its status comes as "
           "acc.buddy_state events.",
           args=(ACC_ID, Field("uri", "uri", True, "the buddy's URI"),
                 Field("buddy", "str", False, "pre-chosen buddy id (idempotent retries)", lo=1,
                       hi=_ID),
                 Field("subscribe", "bool", False, "subscribe to its presence now (default "
                       "false)")),
           result=(_BUDDY_ID,), agent_args=(_BUDDY_ID,)),
    OpSpec("buddy.subscribe", "buddy",
           "Subscribe to a buddy's presence (subscribe=true) or end the subscription; the "
           "outcome comes as acc.buddy_state events.",
           args=(_BUDDY_ID, Field("subscribe", "bool", True, "true: SUBSCRIBE; false: "
                                  "unsubscribe")),
           agent_args=(ACC_ID,)),
    OpSpec("buddy.info", "buddy", "The buddy's presence as its agent knows it now.",
           args=(_BUDDY_ID,), agent_args=(ACC_ID,), result=_BUDDY_INFO),
    OpSpec("buddy.delete", "buddy", "Delete a buddy (its subscription ends).",
           args=(_BUDDY_ID,), agent_args=(ACC_ID,)),
    OpSpec("call.transfer_replaces", "call",
           "Attended transfer: send REFER on this call asking the peer to call the remote party "
           "of dest_call with Replaces, so that the peer's new call takes dest_call's place. "
           "Both calls are on the same agent (calls of one account are). Progress comes as "
           "call.transfer_status events; the peer reports a call.transfer_request, the "
           "replaced party a call.replace_request.",
           args=(CALL_ID, Field("dest_call", "str", True, "id of the call to replace (its "
                                "remote party is the transfer target)", lo=1, hi=_ID),
                 HEADERS)),
    OpSpec("acc.set_presence", "account",
           "Set the account's presence (basic online/offline, an RPID activity and a note): every "
           "watcher whose SUBSCRIBE the account accepted gets a NOTIFY.",
           args=(ACC_ID, Field("online", "bool", True, "online (open) or offline (closed)"),
                 Field("activity", "str", False, "RPID activity (default unknown)",
                       choices=PRESENCE_ACTIVITIES),
                 Field("note", "str", False, "free text (e.g. 'in a meeting')", hi=256))),
    OpSpec("acc.create", "agent",
           "Create an account on the agent holding the fewest accounts; replies once that agent has "
           "created it (another agent is tried if it is full). With a registrar, the account "
           "registers from that agent (its home): the outcome comes as acc.reg_state events. "
           "Replicas made on other agents for calls use the proxy and credentials, never register.",
           args=(Field("uri", "uri", True, "account id URI, e.g. sip:alice@127.0.0.1"),
                 Field("auto_answer", "int", False, "answer incoming calls at once with this code",
                       lo=100, hi=699),
                 Field("acc", "str", False, "pre-chosen account id (idempotent retries)",
                       lo=1, hi=_ID),
                 Field("agent", "str", False, "create it on this agent (e.g. the agent of a "
                       "transport from lib.transports)", lo=1, hi=_ID),
                 Field("replicas", "str", False, "all: create (and register) it on every ready "
                       "agent: its AOR gets one contact per agent, its calls go round robin over "
                       "them; home (default): on one agent", choices=("home", "all")),
                 *ACC_SIP, *ACC_POLICY),
           result=(ACC_ID, AGENT, Field("contact", "str", True,
                                        "a URI that reaches the account at its agent"),
                   Field("replicas", "list", False, "with replicas=all: the agents that hold "
                         "it")),
           agent_args=(ACC_ID, *OWNER,
                       Field("home", "bool", False, "this agent is the account's home (default "
                             "false: a replica); kept for a restarted coordinator"))),
    OpSpec("acc.set_registration", "account",
           "Register again (renew=true, also a refresh) or unregister (renew=false) an account that "
           "has a registrar, from its home agent; the outcome comes as an acc.reg_state event.",
           args=(ACC_ID, Field("renew", "bool", True, "true: register; false: unregister"))),
    OpSpec("acc.send_pager", "account",
           "Send an instant message (SIP MESSAGE, outside any call) from the account's home agent "
           "to a URI; the delivery code comes as acc.pager_status.",
           args=(ACC_ID, Field("uri", "uri", True, "destination URI"), _TEXT, _MIME, _IM_ID,
                 HEADERS)),
    OpSpec("acc.send_typing_ind", "account",
           "Send a typing indication (RFC 3994 MESSAGE) from the account to a URI.",
           args=(ACC_ID, Field("uri", "uri", True, "destination URI"), _TYPING, HEADERS)),
    OpSpec("acc.set_policy", "account",
           "Set how the account (all its replicas) answers requests that pjsua2 decides inside a "
           "callback: incoming REFER (transfer), presence SUBSCRIBE, INVITE with Replaces, and a "
           "3xx answer to an outgoing call (redirect). Fields left out keep their value.",
           args=(ACC_ID, *ACC_POLICY)),
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
    OpSpec("acc.delete", "account", "Delete an account and its replicas. Its live calls are hung up.",
           args=(ACC_ID,)),
    OpSpec("call.make", "account",
           "Make a call from an account. Replies at once with the call id; the outcome comes as "
           "call.state events. Placed on an agent with a free call slot.",
           args=(ACC_ID, Field("uri", "uri", True, "destination SIP URI"), HEADERS,
                 Field("call", "str", False, "pre-chosen call id (idempotent retries)",
                       lo=1, hi=_ID)),
           result=(CALL_ID, AGENT),
           agent_args=(CALL_ID, Field("acc_cfg", "map", False,
                                      "account settings, sent when the agent lacks a replica"),
                       *OWNER)),
    OpSpec("call.answer", "call", "Answer an incoming call with a provisional or final code.",
           args=(CALL_ID, Field("code", "int", False, "SIP status code (default 200)",
                                lo=100, hi=699), REASON, HEADERS)),
    OpSpec("call.hangup", "call", "Hang up (or reject, or cancel) a call.",
           args=(CALL_ID, CODE, REASON, HEADERS)),
    OpSpec("call.hold", "call",
           "Put a confirmed call on hold (re-INVITE with sendonly SDP). The outcome comes as "
           "call.media_state events: LOCAL_HOLD here, REMOTE_HOLD at the peer.",
           args=(CALL_ID, HEADERS)),
    OpSpec("call.unhold", "call",
           "Release the hold (re-INVITE with sendrecv SDP); call.media_state ACTIVE follows on "
           "both sides.", args=(CALL_ID, HEADERS)),
    OpSpec("call.reinvite", "call",
           "Send a re-INVITE with a new SDP offer (the hold state is kept: see call.unhold); "
           "call.media_state follows.", args=(CALL_ID, HEADERS)),
    OpSpec("call.update", "call",
           "Send an UPDATE with a new SDP offer (the hold state is kept); call.media_state "
           "follows.", args=(CALL_ID, HEADERS)),
    OpSpec("call.dial_dtmf", "call",
           "Send DTMF digits on a confirmed call, by RFC 2833 telephone-events in the RTP stream "
           "(default) or one SIP INFO (application/dtmf-relay) per digit. The peer reports each "
           "digit it receives as a call.dtmf event.",
           args=(CALL_ID, Field("digits", "str", True, "digits: 0-9, *, #, A-D", lo=1,
                                hi=limits.MAX_DTMF),
                 Field("method", "str", False, "rfc2833 (default) or info",
                       choices=DTMF_METHODS))),
    OpSpec("call.send_pager", "call",
           "Send an instant message inside a confirmed call (MESSAGE in its dialog); the delivery "
           "code comes as call.pager_status.",
           args=(CALL_ID, _TEXT, _MIME, _IM_ID, HEADERS)),
    OpSpec("call.send_typing_ind", "call", "Send a typing indication inside a confirmed call.",
           args=(CALL_ID, _TYPING, HEADERS)),
    OpSpec("call.transfer", "call",
           "Blind transfer: send REFER asking the peer to call a URI. Its progress comes as "
           "call.transfer_status events (the peer's new call, as NOTIFYs tell it); the peer "
           "reports a call.transfer_request.",
           args=(CALL_ID, Field("uri", "uri", True, "the transfer target"), HEADERS)),
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
                   Field("local_contact", "str", True, "this side's Contact (its transport "
                         "parameter names the SIP transport: ;transport=tcp / tls)"),
                   Field("remote_contact", "str", True, "the peer's Contact"))),
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
                   Field("mos", "float", True, "MOS estimate, 1.0 .. 4.5", lo=1, hi=4.5))),
    OpSpec("load.start", "coordinator",
           "Start a load run over the fleet's agents; replies once every agent has its share. "
           "Progress comes as load.progress events (each second), the report as load.done.",
           args=_PROFILE, result=(Field("run", "str", True, "run id"),
                                  Field("agents", "list", True, "agents taking part"))),
    OpSpec("load.status", "coordinator", "The live state of a load run (as in load.progress).",
           args=(RUN_ID,), result=(Field("progress", "map", True, "as load.progress data"),)),
    OpSpec("load.set_rate", "coordinator", "Change a running load run's call rate at once.",
           args=(RUN_ID, Field("rate", "float", True, "calls per second", lo=0, hi=100000))),
    OpSpec("load.stop", "coordinator",
           "Stop a load run: no new calls, live calls hung up; load.done follows.",
           args=(RUN_ID,)),
    OpSpec("load.agent_start", "coordinator-to-agent",
           "An agent's share of a run: a calling part and/or an answering part.",
           args=(RUN_ID, Field("caller", "map", False, "ids (list of maps: uri and, for a "
                               "registrar, username and password), rate, calls, duration, ramp, "
                               "slots, hold, hangup, targets, dtmf, dtmf_method, media, "
                               "registrar, wait_go (true: no call before load.agent_go)"),
                 Field("answer", "map", False, "ids (one identity, as for caller), delay, codes, hold, "
                       "hangup, dtmf, media, registrar"),
                 *OWNER,
                 Field("profile", "map", False, "the run's profile as reports show it (no "
                       "credentials), kept for a restarted coordinator")),
           result=(RUN_ID,)),
    OpSpec("load.agent_rate", "coordinator-to-agent", "An agent's new share of the rate.",
           args=(RUN_ID, Field("rate", "float", True, "calls per second", lo=0, hi=100000))),
    OpSpec("load.agent_go", "coordinator-to-agent",
           "Start calling now: every agent of a registrar run has registered its identities, or "
           "every agent of a self-answering run has its answering account.",
           args=(RUN_ID,)),
    OpSpec("load.agent_end", "coordinator-to-agent",
           "Start no more calls, hang up live ones, report done.", args=(RUN_ID,)),
    OpSpec("agent.fatal", "coordinator",
           "A host's supervisord gave up restarting a process (FATAL: it kept exiting at start); "
           "sent by `coordinator.fatal_listener` on the agents socket (with the host's agent key "
           "under CURVE), or by an admin client. The coordinator logs it for the operator.",
           args=(Field("name", "str", True, "supervisord process name (an agent's name)",
                       lo=1, hi=_ID),
                 Field("group", "str", True, "supervisord group name", hi=_ID),
                 Field("host", "str", True, "host where supervisord runs", hi=255),
                 Field("from_state", "str", True, "state before FATAL, e.g. BACKOFF", hi=32)),
           result=(Field("known", "bool", True, "the coordinator knows an agent of that name"),
                   Field("alive", "bool", True, "that agent is still alive (admitted)"))),
    OpSpec("events.subscribe", "coordinator",
           "Also receive, on this connection, every event that a filter selects (besides the "
           "events of the objects this connection created). The reply carries a snapshot of the "
           "selected accounts and live calls and precedes every event the subscription delivers.",
           args=(Field("sub", "str", False, "pre-chosen subscription id; one this connection "
                       "holds is replaced", lo=1, hi=_ID),
                 Field("include", "map", False, "filter: events, accounts, calls, runs (lists of "
                       "strings); absent: every event"),
                 Field("exclude", "map", False, "filter of events not to deliver; absent: none"),
                 Field("snapshot", "bool", False, "list the selected accounts and calls "
                       "(default true)")),
           result=(Field("sub", "str", True, "subscription id", lo=1, hi=_ID),
                   Field("accounts", "list", True, "one map per account: acc, uri, agent, "
                         "contact, replicas, auto_answer"),
                   Field("calls", "list", True, "one map per live call: call, acc, agent, state, "
                         "seq, role, code, reason, remote_uri, call_id, media"),
                   Field("truncated", "bool", True, "the lists were cut short (MAX_SNAPSHOT, "
                         "frame size)"))),
    OpSpec("events.unsubscribe", "coordinator",
           "End one subscription of this connection, or all of them.",
           args=(Field("sub", "str", False, "subscription id; absent: every one of this "
                       "connection", lo=1, hi=_ID),),
           result=(Field("removed", "int", True, "how many subscriptions ended", lo=0),)),
    OpSpec("agent.hello", "agent-to-coordinator",
           "An agent announces itself; the coordinator admits it (or names it taken).",
           args=_AGENT_INFO, result=(Field("coordinator", "str", True, "coordinator id"),
                                     Field("reset", "bool", False, "true: the coordinator holds "
                                           "nothing on this agent; it must hang up every call, "
                                           "delete every account and media object, then say "
                                           "hello again"),
                                     Field("adopted", "bool", False, "true: the coordinator "
                                           "took over what the hello's holdings listed"))),
    OpSpec("agent.bye", "agent-to-coordinator",
           "An agent is shutting down (SIGTERM): at stage `leaving` the coordinator places nothing "
           "more on it and moves its accounts; at stage `gone` (its last message) it is forgotten "
           "at once, without waiting for the heartbeat timeout. The coordinator does not reply.",
           args=(Field("stage", "str", True, "leaving | gone", choices=("leaving", "gone")),
                 Field("reason", "str", False, "shutdown (default: it was told to stop) or "
                       "recycle (it drained and restarts itself in place, section 9 Health)",
                       choices=("shutdown", "recycle")))),
    *MEDIA_OPS, *CODEC_OPS,
)}

EVENTS: dict[str, EventSpec] = {ev.name: ev for ev in (
    EventSpec("acc.incoming_call", "account",
              "A call arrived for the account. Its call.state events follow this one.",
              data=(CALL_ID, AGENT,
                    Field("remote_uri", "str", True, "caller"),
                    Field("local_uri", "str", True, "callee"),
                    Field("call_id", "str", True, "SIP Call-ID"))),
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
              data=(Field("to_uri", "str", True, "destination"), *_IM_STATUS)),
    EventSpec("acc.typing", "account", "A typing indication arrived for the account.",
              data=(Field("from_uri", "str", True, "sender"),
                    Field("to_uri", "str", True, "recipient (To)"),
                    Field("contact", "str", True, "sender's Contact (empty if none)"),
                    Field("is_typing", "bool", True, "typing or stopped typing"))),
    EventSpec("call.replace_request", "call",
              "An INVITE with Replaces names this call (attended transfer) and the account's "
              "policy answered. When accepted, the new call's id comes here, before its own "
              "call.state events (it belongs to the same account and client, and is answered "
              "at once); this call then ends.",
              data=(Field("code", "int", True, "the answer: 200 accepted, or the rejection "
                          "code", lo=100, hi=699),
                    Field("new_call", "str", True, "id of the new call ('' if rejected)",
                          hi=_ID),
                    Field("from_uri", "str", True, "who sent the INVITE (the transferee)"),
                    AGENT)),
    EventSpec("acc.buddy_state", "account",
              "A buddy of the account changed: its presence (a NOTIFY) or its subscription.",
              data=(_BUDDY_ID, *_BUDDY_INFO)),
    EventSpec("acc.incoming_subscribe", "account",
              "A watcher subscribed to the account's presence; the account's policy answered.",
              data=(Field("from_uri", "str", True, "the watcher"),
                    Field("code", "int", True, "the response sent (200 accepted, or the "
                          "rejection code)", lo=100, hi=699))),
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
                    Field("duration", "int", True, "its duration in ms (0 if not given)", lo=0))),
    EventSpec("call.transfer_request", "call",
              "The peer asked this call to transfer (REFER), and the account's policy answered. "
              "When accepted, the new call's id comes here, before that call's own call.state "
              "events; it belongs to the same account and client.",
              data=(Field("uri", "str", True, "the transfer target"),
                    Field("code", "int", True, "the response sent: 202 accepted, or the "
                          "rejection code", lo=100, hi=699),
                    Field("new_call", "str", True, "id of the new call ('' if rejected)", hi=_ID),
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
    EventSpec("call.pager_status", "call", "The outcome of a call.send_pager.", data=_IM_STATUS),
    EventSpec("call.typing", "call", "A typing indication arrived inside the call.",
              data=(Field("is_typing", "bool", True, "typing or stopped typing"),)),
    EventSpec("load.stats", "run", "An agent's counters and histograms since its last report.",
              data=(Field("agent", "str", True, "agent name"),
                    Field("started", "int", True, "calls started", lo=0),
                    Field("answered", "int", True, "calls answered (CONFIRMED)", lo=0),
                    Field("delayed", "int", True, "calls that waited for a free slot", lo=0),
                    Field("incoming", "int", True, "calls answered for the run", lo=0),
                    Field("failed", "map", True, "failed calls by SIP code"),
                    Field("failed_reasons", "map", False, "failed calls by status line (code "
                          "and reason; at most 16 distinct, then \"other\")"),
                    Field("active", "int", True, "load calls up now", lo=0),
                    Field("setup", "map", True, "setup-time histogram (µs)"),
                    Field("duration", "map", True, "call-duration histogram (µs)"),
                    Field("media", "map", False, "RTP of the calls hung up here: calls, rx, "
                          "lost, and loss_pm (per mille), jitter (µs), mos (x1000) histograms"),
                    Field("dtmf_ok", "int", False, "answered calls that got every DTMF digit",
                          lo=0),
                    Field("dtmf_missed", "int", False, "answered calls whose DTMF digits differed",
                          lo=0),
                    Field("tone_heard", "int", False, "calls (media tone) whose hanging-up end "
                          "heard the far end's tone", lo=0),
                    Field("tone_missed", "int", False, "calls (media tone) whose hanging-up end "
                          "heard no tone", lo=0),
                    Field("identities", "int", False, "identities this agent registers (registrar "
                          "runs)", lo=0),
                    Field("registered", "int", False, "of those, registered now", lo=0),
                    Field("reg_failed", "map", False, "identities whose registration failed, by "
                          "SIP code"),
                    Field("caller_done", "bool", True, "no more calls will be started"),
                    Field("done", "bool", True, "the agent's part is over"))),
    EventSpec("load.progress", "run", "A load run's state, once a second.",
              data=(Field("elapsed", "float", True, "seconds since start"),
                    Field("started", "int", True, "calls started"),
                    Field("answered", "int", True, "calls answered"),
                    Field("failed", "int", True, "calls failed"),
                    Field("active", "int", True, "calls up now"),
                    Field("rate", "float", True, "calls started in the last second"),
                    Field("target_rate", "float", True, "the rate asked for"),
                    Field("delayed", "int", True, "calls that waited for a free slot"),
                    Field("setup_p50_ms", "float", True, "setup time median so far"),
                    Field("setup_p95_ms", "float", True, "setup time 95th percentile so far"))),
    EventSpec("load.done", "run", "A load run ended; its report.",
              data=(Field("report", "map", True,
                          "the final report: totals, failures by SIP code, setup and duration "
                          "percentiles, media, timeseries, and by_agent (a list, by agent name: "
                          "each agent's started, answered, incoming and failed calls)"),)),
    EventSpec("events.gap", "connection",
              "Sent by the coordinator to a client connection that lost messages (its queue was "
              "full, or it was not connected): how many since the previous notice. It comes "
              "before any later message on that connection; `obj` is empty and `seq` numbers the "
              "notices of the connection.",
              data=(Field("dropped", "int", True, "messages lost since the previous notice "
                          "(events and replies)", lo=1),
                    Field("replies", "int", True, "how many of them were replies", lo=0),
                    Field("total", "int", True, "messages this connection lost in all", lo=1))),
    EventSpec("agent.draining", "agent",
              "An agent found resources that PJSIP lost for good (conference bridge ports, "
              "sockets) past its limits: it takes no new call, lets its calls finish (at most "
              "30 s), then restarts itself in place (section 9, Health). The coordinator moves "
              "its accounts at once.",
              data=(Field("why", "str", True, "what leaked, e.g. '40 of 128 conference bridge "
                          "ports leaked'"),
                    Field("bridge_used", "int", True, "bridge ports taken", lo=0),
                    Field("bridge_max", "int", True, "bridge ports in all", lo=0),
                    Field("bridge_leaked", "int", True, "ports taken that no live call or media "
                          "object explains", lo=0),
                    Field("sockets", "int", True, "sockets open", lo=0),
                    Field("sockets_leaked", "int", True, "sockets that no live call, SIP "
                          "listener or the coordinator link explains", lo=0),
                    Field("fds", "int", True, "file descriptors open", lo=0),
                    Field("rss_kb", "int", True, "resident memory, KiB", lo=0))),
    EventSpec("agent.error", "agent",
              "A pjsua2 callback failed inside an agent; the agent keeps serving.",
              data=(Field("where", "str", True, "callback name"),
                    Field("msg", "str", True, "exception text"),
                    Field("trace", "str", False, "short traceback"))),
    *MEDIA_EVENTS,
)}

#: The kinds of message on the wire.
KINDS = ("req", "rep", "evt", "hb")

#: Call states in the order a successful call passes through them.
CALL_STATES = ("NULL", "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED")


# -- access control (CURVE roles and object ownership) ------------------------------------------
#: The ops a read-only client may send: they change nothing and name no object of another client.
READ_ONLY_ROLE_OPS = frozenset({"lib.agents", "lib.status", "events.subscribe",
                                "events.unsubscribe", "load.status"})
#: The ops that act on an existing load run: only the run's owner may send them.
RUN_CONTROL_OPS = frozenset({"load.set_rate", "load.stop"})
#: The ops only an admin client may send (with CURVE): they change what other clients' calls use,
#: or report on the fleet's processes. (agent.fatal is also accepted on the agents socket.)
ADMIN_ROLE_OPS = frozenset({"lib.set_codec_priority", "agent.fatal"})
