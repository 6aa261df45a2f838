"""The fleet as the dashboard shows it (pure): the agents ``lib.status`` lists each second, with
a lifecycle the coordinator does not keep: an agent is ``joined`` when first seen, ``lost`` when
it leaves the list (killed, crashed, stopped), ``replaced`` when its name comes back with another
process (supervisord restarted it, or an operator started a new one under that name). The agent's
own state (ready, draining, recycling, leaving) is shown beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: agents no longer listed that the page still shows as lost (the oldest are forgotten)
MAX_GONE = 256
#: the fields of lib.agents the page shows (nothing else of an agent reaches the browser)
AGENT_FIELDS = ("name", "host", "pid", "sip", "state", "calls", "capacity", "free", "accounts",
                "max_accounts", "pjsip", "bridge_used", "bridge_max", "bridge_leaked", "sockets",
                "sockets_leaked", "rss_kb")
#: the fields of lib.status the page shows
STATUS_FIELDS = ("accounts", "calls", "version", "coordinator", "uptime", "software",
                 "dropped", "adopting")


@dataclass
class AgentView:
    name: str
    info: dict[str, Any]
    lifecycle: str = "joined"
    #: Unix time of the last lifecycle change
    since: float = 0.0
    #: the process it replaced (0: none)
    replaced_pid: int = 0

    def row(self) -> dict[str, Any]:
        out = {k: self.info.get(k) for k in AGENT_FIELDS}
        if self.lifecycle == "lost":
            out.update(calls=0, free=0, state="-")
        return {**out, "lifecycle": self.lifecycle, "since": round(self.since, 3),
                "replaced_pid": self.replaced_pid}


@dataclass
class FleetState:
    agents: dict[str, AgentView] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    #: the coordinator answered the last status request
    connected: bool = False
    #: why not, when it did not
    problem: str = ""
    #: Unix time of the last status
    updated: float = 0.0

    def update(self, status: dict[str, Any], now: float) -> None:
        """A lib.status reply received at ``now`` (Unix time)."""
        self.connected, self.problem, self.updated = True, "", now
        self.status = {k: status.get(k) for k in STATUS_FIELDS}
        present = {a["name"]: a for a in status.get("agents", []) if isinstance(a, dict)}
        for name, info in present.items():
            self._seen(name, info, now)
        for name, view in self.agents.items():
            if name not in present and view.lifecycle != "lost":
                view.lifecycle, view.since = "lost", now
        self._forget_old()

    def _seen(self, name: str, info: dict[str, Any], now: float) -> None:
        view = self.agents.get(name)
        if view is None:
            self.agents[name] = AgentView(name, info, "joined", now)
            return
        if view.lifecycle == "lost" or view.info.get("pid") != info.get("pid"):
            view.replaced_pid = int(view.info.get("pid") or 0)
            view.lifecycle, view.since = "replaced", now
        view.info = info

    def _forget_old(self) -> None:
        gone = sorted((v.since, n) for n, v in self.agents.items() if v.lifecycle == "lost")
        for _, name in gone[:max(0, len(gone) - MAX_GONE)]:
            del self.agents[name]

    def unreachable(self, why: str) -> None:
        self.connected, self.problem = False, why

    def view(self) -> dict[str, Any]:
        rows = [self.agents[n].row() for n in sorted(self.agents)]
        live = [r for r in rows if r["lifecycle"] != "lost"]
        return {"connected": self.connected, "problem": self.problem,
                "updated": round(self.updated, 3), "status": self.status, "agents": rows,
                # as `callfleet status`: the call legs the fleet holds, of the agents' slots
                "totals": {"agents": len(live), "lost": len(rows) - len(live),
                           "calls": self.status.get("calls") or 0,
                           "slots": sum(int(r["capacity"] or 0) for r in live),
                           "free": sum(int(r["free"] or 0) for r in live)}}
