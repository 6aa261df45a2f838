"""Agents' own messages to the coordinator (hello, bye), FATAL reports, agents' events."""

from __future__ import annotations

from proto import limits
from proto.ops.fields import ID
from proto.ops.spec import ADMIN, EventSpec, OpSpec, grouped
from proto.schema import Field

#: whose an object an agent holds is (the ``owner``/``owner_key`` agent args it was given)
_OWNED_BY = (Field("owner", "str", True, "the owning client's routing id, hex", lo=2, hi=2 * 255),
             Field("owner_key", "str", False, "the owning client's CURVE key (Z85)", hi=64),
             Field("persistent", "bool", False, "it outlives its owner's lease (the "
                   "`persistent` argument it was created with)"))
#: The maps of a hello's ``holdings`` (section 9, Adoption), checked as requests' args are.
HOLDINGS = (
    Field("accounts", "list", False, "one HOLDING_ACCOUNT map per account"),
    Field("calls", "list", False, "one HOLDING_CALL map per call"),
    Field("ended", "list", False, "one HOLDING_CALL map per call that ended in the last "
          "minutes (its DISCONNECTED: its owner may not have had it, if no coordinator was "
          "there to relay it)"),
    Field("media", "list", False, "one HOLDING_MEDIA map per media object"),
    Field("ids", "int", False, "the highest number of a coordinator-issued id seen", lo=0),
)
HOLDING_ACCOUNT = (
    Field("acc", "str", True, "account id", lo=1, hi=ID),
    Field("uri", "str", True, "its id URI", lo=1),
    *_OWNED_BY,
    Field("home", "bool", False, "this agent is its home"),
    Field("everywhere", "bool", False, "it lives on every agent"),
    Field("auto_answer", "int", False, "its auto-answer code", lo=100, hi=699),
    Field("settings", "map", False, "its ACC_SIP settings"),
    Field("policy", "map", False, "its ACC_POLICY decisions"),
    Field("buddies", "list", False, "one HOLDING_BUDDY map per buddy"),
)
HOLDING_BUDDY = (
    Field("buddy", "str", True, "buddy id", lo=1, hi=ID),
    Field("uri", "str", True, "its URI"),
    Field("subscribe", "bool", False, "its presence is subscribed"),
)
HOLDING_CALL = (
    Field("call", "str", True, "call id", lo=1, hi=ID),
    Field("acc", "str", True, "its account", lo=1, hi=ID),
    *_OWNED_BY,
    Field("seq", "int", True, "the seq of its last event", lo=0),
    Field("state", "str", True, "its state name"),
    Field("code", "int", True, "its last status code", lo=0, hi=699),
    Field("reason", "str", False, "its last reason phrase"),
    Field("remote_uri", "str", False, "the remote party"),
    Field("call_id", "str", False, "SIP Call-ID"),
    Field("role", "str", False, "caller | callee"),
)
HOLDING_MEDIA = (Field("media", "str", True, "media object id", lo=1, hi=ID), *_OWNED_BY)
#: a load-run part of a hello's ``loads`` (beside the load.stats fields summed so far)
HOLDING_LOAD = (
    Field("run", "str", True, "run id", lo=1, hi=ID),
    *_OWNED_BY,
    Field("profile", "map", False, "the run's profile as reports show it"),
    Field("elapsed", "float", True, "seconds since the part started", lo=0),
    Field("slots", "int", True, "its calling slots", lo=0),
    Field("released", "bool", False, "it may call"),
    Field("ending", "bool", False, "it is ending"),
    Field("reports", "int", True, "load.stats reports it sent", lo=0),
)

AGENT_INFO = (
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
          "number of a coordinator-issued id it has seen), each map checked against its "
          "fields (proto/ops/agent.py HOLDING_*); absent when it holds nothing or when they "
          "would not fit in a frame"),
    Field("loads", "list", False, "with holdings: the agent's parts of load runs, one map each: "
          "run, owner, owner_key, profile, elapsed, slots, released, ending, reports (how many "
          "load.stats it sent) and the load.stats fields summed over those reports"),
)


OPS = grouped("agent", (
    OpSpec("agent.hello", "agent-to-coordinator",
           "An agent announces itself; the coordinator admits it (or names it taken).",
           args=AGENT_INFO, result=(Field("coordinator", "str", True, "coordinator id"),
                                     Field("reset", "bool", False, "true: the coordinator holds "
                                           "nothing on this agent; it must hang up every call, "
                                           "delete every account and media object, then say "
                                           "hello again"),
                                     Field("adopted", "bool", False, "true: the coordinator "
                                           "took over what the hello's holdings listed")),
           route="none"),
    OpSpec("agent.bye", "agent-to-coordinator",
           "An agent is shutting down (SIGTERM): at stage `leaving` the coordinator places nothing "
           "more on it and moves its accounts; at stage `gone` (its last message) it is forgotten "
           "at once, without waiting for the heartbeat timeout. The coordinator does not reply.",
           args=(Field("stage", "str", True, "leaving | gone", choices=("leaving", "gone")),
                 Field("reason", "str", False, "shutdown (default: it was told to stop) or "
                       "recycle (it drained and restarts itself in place, section 9 Health)",
                       choices=("shutdown", "recycle"))),
           route="none"),
    OpSpec("agent.fatal", "coordinator",
           "A host's supervisord gave up restarting a process (FATAL: it kept exiting at start); "
           "sent by `coordinator.cli.fatal_listener` on the agents socket (with the host's agent key "
           "under CURVE), or by an admin client. The coordinator logs it for the operator.",
           args=(Field("name", "str", True, "supervisord process name (an agent's name)",
                       lo=1, hi=ID),
                 Field("group", "str", True, "supervisord group name", hi=ID),
                 Field("host", "str", True, "host where supervisord runs", hi=255),
                 Field("from_state", "str", True, "state before FATAL, e.g. BACKOFF", hi=32)),
           result=(Field("known", "bool", True, "the coordinator knows an agent of that name"),
                   Field("alive", "bool", True, "that agent is still alive (admitted)")),
           roles=ADMIN, adopting=True),
))

EVENTS = grouped("agent", (
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
))
