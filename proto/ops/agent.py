"""Agents' own messages to the coordinator (hello, bye), FATAL reports, agents' events."""

from __future__ import annotations

from proto import limits
from proto.ops.fields import ID
from proto.ops.spec import ADMIN, EventSpec, OpSpec, grouped
from proto.schema import Field

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
          "number of a coordinator-issued id it has seen); absent when it holds nothing or "
          "when they would not fit in a frame"),
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
