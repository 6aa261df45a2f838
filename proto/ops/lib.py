"""The fleet as a whole: its agents, its status, the SIP transports they listen on."""

from __future__ import annotations

from proto.ops.spec import READ, OpSpec, grouped
from proto.schema import Field

OPS = grouped("lib", (
    OpSpec("lib.agents", "coordinator", "List connected agents with capacity and load.",
           result=(Field("agents", "list", True, "one map per agent: name, host, pid, sip, "
                         "capacity, calls, free, sockets_free, accounts, max_accounts, pjsip, "
                         "alive, state (ready | draining | recycling | resetting | leaving), "
                         "and the health figures of its last heartbeat: bridge_used, bridge_max, "
                         "bridge_leaked, sockets, sockets_leaked, fds, rss_kb (section 9, "
                         "Health), wakeups (turns of its loop since it started) and woken (of "
                         "them, sleeps that a command ended: section 9, Idle agents)"),),
           roles=READ, adopting=True),
    OpSpec("lib.status", "coordinator", "Fleet summary: agents, accounts and calls.",
           result=(Field("agents", "list", True, "as lib.agents"),
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
