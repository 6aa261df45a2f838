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
    Field("run", "str", False, "pre-chosen run id", lo=1, hi=_ID),
)

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
           args=(RUN_ID, Field("caller", "map", False, "uri, rate, calls, duration, ramp, "
                               "slots, hold, hangup, targets"),
                 Field("answer", "map", False, "uri, delay, codes, hold, hangup")),
           result=(RUN_ID,)),
    OpSpec("load.agent_rate", "coordinator-to-agent", "An agent's new share of the rate.",
           args=(RUN_ID, Field("rate", "float", True, "calls per second", lo=0, hi=100000))),
    OpSpec("load.agent_end", "coordinator-to-agent",
           "Start no more calls, hang up live ones, report done.", args=(RUN_ID,)),
    OpSpec("agent.fatal", "coordinator",
           "A host's supervisord gave up restarting a process (FATAL: it kept exiting at start); "
           "sent by `coordinator.fatal_listener`. The coordinator logs it for the operator.",
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
    EventSpec("load.stats", "run", "An agent's counters and histograms since its last report.",
              data=(Field("agent", "str", True, "agent name"),
                    Field("started", "int", True, "calls started", lo=0),
                    Field("answered", "int", True, "calls answered (CONFIRMED)", lo=0),
                    Field("delayed", "int", True, "calls that waited for a free slot", lo=0),
                    Field("incoming", "int", True, "calls answered for the run", lo=0),
                    Field("failed", "map", True, "failed calls by SIP code"),
                    Field("active", "int", True, "load calls up now", lo=0),
                    Field("setup", "map", True, "setup-time histogram (µs)"),
                    Field("duration", "map", True, "call-duration histogram (µs)"),
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
              data=(Field("report", "map", True, "the final report (see PROTOCOL.md)"),)),
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
