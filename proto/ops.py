"""The registry of every op and event: names, argument fields, replies. Docs are generated from it."""

from __future__ import annotations

from dataclasses import dataclass

from proto import limits
from proto.schema import Field


@dataclass(frozen=True)
class OpSpec:
    """One request type.

    ``target`` says who executes it: ``coordinator`` (answered by the coordinator alone),
    ``agent`` (placed on an agent by the coordinator), ``account``/``call`` (routed to the agent
    that holds that object), or ``agent-to-coordinator`` (sent by agents). ``agent_args`` are
    extra fields only the coordinator adds when it forwards
    the request to an agent.
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

_AGENT_INFO = (
    Field("name", "str", True, "unique agent name", lo=1, hi=_ID),
    Field("host", "str", True, "host name"),
    Field("pid", "int", True, "process id", lo=0),
    Field("sip", "list", True, "SIP listening addresses, e.g. udp:127.0.0.1:5060"),
    Field("capacity", "int", True, "most concurrent calls", lo=0, hi=64),
    Field("max_accounts", "int", False, "most accounts (default 8)", lo=0, hi=1024),
    Field("pjsip", "str", True, "PJSIP version"),
    Field("calls", "int", False, "live calls at hello time", lo=0),
)
_LOAD = (
    Field("calls", "int", True, "live calls", lo=0),
    Field("capacity", "int", True, "most concurrent calls", lo=0, hi=64),
    Field("sockets_free", "int", True, "sockets left in the agent's budget", lo=0),
    Field("accounts", "int", True, "accounts held", lo=0),
)

OPS: dict[str, OpSpec] = {op.name: op for op in (
    OpSpec("lib.agents", "coordinator", "List connected agents with capacity and load.",
           result=(Field("agents", "list", True, "one map per agent: name, host, pid, sip, "
                         "capacity, calls, free, sockets_free, accounts, max_accounts, pjsip, "
                         "alive"),)),
    OpSpec("lib.status", "coordinator", "Fleet summary: agents, accounts and calls.",
           result=(Field("agents", "list", True, "as lib.agents"),
                   Field("accounts", "int", True, "accounts held"),
                   Field("calls", "int", True, "live calls"),
                   Field("version", "int", True, "protocol version"))),
    OpSpec("acc.create", "agent",
           "Create a local account (no registration) on the agent holding the fewest accounts; "
           "replies once that agent has created it (another agent is tried if it is full).",
           args=(Field("uri", "uri", True, "account id URI, e.g. sip:alice@127.0.0.1"),
                 Field("auto_answer", "int", False, "answer incoming calls at once with this code",
                       lo=100, hi=699),
                 Field("acc", "str", False, "pre-chosen account id (idempotent retries)",
                       lo=1, hi=_ID)),
           result=(ACC_ID, AGENT, Field("contact", "str", True,
                                        "a URI that reaches the account at its agent")),
           agent_args=(ACC_ID,)),
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
                                      "account settings, sent when the agent lacks a replica"))),
    OpSpec("call.answer", "call", "Answer an incoming call with a provisional or final code.",
           args=(CALL_ID, Field("code", "int", False, "SIP status code (default 200)",
                                lo=100, hi=699), REASON, HEADERS)),
    OpSpec("call.hangup", "call", "Hang up (or reject, or cancel) a call.",
           args=(CALL_ID, CODE, REASON, HEADERS)),
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
                   Field("media", "str", True, "media state name"))),
    OpSpec("agent.hello", "agent-to-coordinator",
           "An agent announces itself; the coordinator admits it (or names it taken).",
           args=_AGENT_INFO, result=(Field("coordinator", "str", True, "coordinator id"),)),
)}

EVENTS: dict[str, EventSpec] = {ev.name: ev for ev in (
    EventSpec("acc.incoming_call", "account",
              "A call arrived for the account. Its call.state events follow this one.",
              data=(CALL_ID, AGENT,
                    Field("remote_uri", "str", True, "caller"),
                    Field("local_uri", "str", True, "callee"),
                    Field("call_id", "str", True, "SIP Call-ID"))),
    EventSpec("call.state", "call", "The call's INVITE session changed state.",
              data=(Field("state", "str", True, "CALLING | INCOMING | EARLY | CONNECTING | "
                          "CONFIRMED | DISCONNECTED"),
                    Field("code", "int", True, "last SIP status code (0 if none)"),
                    Field("reason", "str", True, "last reason phrase, or worker_lost / shutdown"),
                    Field("remote_uri", "str", True, "remote party"),
                    Field("call_id", "str", True, "SIP Call-ID"),
                    Field("role", "str", True, "caller | callee"),
                    Field("agent", "str", True, "agent holding the call"))),
    EventSpec("call.media_state", "call", "The call's media changed (active, hold, none).",
              data=(Field("media", "str", True, "NONE | ACTIVE | LOCAL_HOLD | REMOTE_HOLD | ERROR"),
                    Field("dir", "str", True, "none | send | recv | sendrecv"))),
    EventSpec("agent.error", "agent",
              "A pjsua2 callback failed inside an agent; the agent keeps serving.",
              data=(Field("where", "str", True, "callback name"),
                    Field("msg", "str", True, "exception text"),
                    Field("trace", "str", False, "short traceback"))),
)}

#: The kinds of message on the wire.
KINDS = ("req", "rep", "evt", "hb")

#: Call states in the order a successful call passes through them.
CALL_STATES = ("NULL", "CALLING", "INCOMING", "EARLY", "CONNECTING", "CONFIRMED", "DISCONNECTED")
