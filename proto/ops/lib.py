"""The fleet as a whole: its agents, its status, the SIP transports they listen on."""

from __future__ import annotations

from proto import limits
from proto.ops.spec import READ, OpSpec, grouped
from proto.schema import Field

OPS = grouped("lib", (
    OpSpec("lib.agents", "coordinator", "List connected agents with capacity and load, by "
           "name, a page at a time: a page ends where `next` says the following one starts.",
           args=(Field("after", "str", False, "list agents whose names sort after this one (the "
                       "previous page's `next`); none: from the first", hi=limits.MAX_AGENT_NAME),
                 Field("limit", "int", False, "most agents in this page (default and most: "
                       f"{limits.AGENTS_PAGE})", lo=1, hi=limits.AGENTS_PAGE)),
           result=(Field("agents", "list", True, "one map per agent, in name order: name, host, "
                         "pid, sip, "
                         "capacity, calls, free, sockets_free, accounts, max_accounts, pjsip, "
                         "alive, state (ready | draining | recycling | resetting | leaving), "
                         "and the health figures of its last heartbeat: bridge_used, bridge_max, "
                         "bridge_leaked, sockets, sockets_leaked, fds, rss_kb (section 9, "
                         "Health), wakeups (turns of its loop since it started) and woken (of "
                         "them, sleeps that a command ended: section 9, Idle agents)"),
                   Field("next", "str", False, "present when more agents follow: pass it as "
                         "`after` for the next page"),
                   Field("total", "int", True, "agents listed in all pages", lo=0)),
           roles=READ, adopting=True),
    OpSpec("lib.status", "coordinator", "Fleet summary: agents, accounts and calls.",
           result=(Field("agents", "list", True, "as lib.agents: its first page (at most "
                         f"{limits.AGENTS_PAGE} agents; `agents_total` says how many are listed "
                         "in all)"),
                   Field("agents_total", "int", False, "agents lib.agents lists in all pages",
                         lo=0),
                   Field("accounts", "int", True, "accounts held"),
                   Field("calls", "int", True, "live call legs: the clients' and the load "
                         "runs' (both ends of a call the fleet answers itself count)"),
                   Field("version", "int", True, "protocol version"),
                   Field("coordinator", "str", False, "this coordinator's instance id (a new "
                         "one after each start: a client that sees it change knows its "
                         "subscriptions are gone)"),
                   Field("started", "float", False, "when this coordinator started (Unix time)",
                         lo=0),
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
                         "a (re)started coordinator (section 9; 0: closed)", lo=0),
                   Field("media", "int", False, "media objects held", lo=0),
                   Field("subscriptions", "int", False, "event subscriptions held (section "
                         "7.2)", lo=0),
                   Field("clients", "int", False, "client connections with a live lease "
                         "(section 10)", lo=0),
                   Field("clients_expired", "int", False, "client leases that expired since "
                         "the coordinator started", lo=0),
                   Field("uptime", "float", False, "seconds since the coordinator started",
                         lo=0),
                   Field("software", "str", False, "the coordinator's callfleet version")),
           roles=READ, adopting=True),
    OpSpec("lib.transports", "coordinator",
           "Every SIP transport the ready agents listen on (chosen at agent start: "
           "`callfleet agent --transports udp,tcp,tls`).",
           result=(Field("transports", "list", True, "one map per transport: agent, type (udp | "
                         "tcp | tls), host, port"),)),
))
