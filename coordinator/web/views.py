"""What one page gets each second (pure): the fleet, the list of runs, the run it looks at (the
rows it does not have yet, the counters, failures by code, each agent's part, the verdict) and
the events its filter selects that it has not seen. Every figure is read from the coordinator's
own (``runstate.figures``); nothing is added up here."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from coordinator.server.subscriptions import Subscription
from coordinator.web.runstate import RunView, figures, verdict
from coordinator.web.source import Dashboard
from coordinator.web.tail import masked

#: events a page gets per update at most (the newest)
EVENTS_PER_UPDATE = 200
#: events a page gets when its filter changes
EVENTS_ON_FILTER = 300


@dataclass
class PageState:
    """What one open page has been sent."""

    watch: str = ""
    rows_sent: int = 0
    #: the run's state when its rows were sent (a finished run's rows are its report's)
    rows_state: str = ""
    events_after: int = 0
    sub: Subscription | None = None


def counters(view: RunView) -> list[dict[str, Any]]:
    """The run's counters, labelled as they are meant (live: the rate over the last 5 s and
    the rate asked now; final: over the whole run, as the report)."""
    f, live = figures(view), view.report is None
    s = f["setup_ms"]
    items = [("attempted", "attempted", f["attempted"], ""),
             ("answered", "answered", f["answered"], ""),
             ("completed", "completed", f["completed"], ""),
             ("failed", "failed", f["failed"], ""), ("lost", "lost", f["lost"], ""),
             ("active", "up now" if live else "still up", f["active"], ""),
             ("rate", "rate, last 5 s" if live else "rate achieved", f["achieved_rate"],
              "calls/s"),
             ("asked", "asked now" if live else "rate asked", f["asked_rate"], "calls/s"),
             ("setup_p50", "setup p50", s["p50"], "ms"), ("setup_p95", "setup p95", s["p95"], "ms"),
             ("setup_p99", "setup p99", s["p99"], "ms"),
             ("delayed", "waited for a slot", f["delayed_for_capacity"], ""),
             ("elapsed", "elapsed", f["elapsed_s"], "s")]
    return [{"key": k, "label": label, "value": v, "unit": unit} for k, label, v, unit in items]


def summary(view: RunView) -> dict[str, Any]:
    f = figures(view)
    return {"run": view.run, "state": view.state, "started_here": view.started_here,
            "first_seen": round(view.first_seen, 3), "elapsed": f["elapsed_s"],
            "attempted": f["attempted"], "answered": f["answered"], "failed": f["failed"],
            "lost": f["lost"], "active": f["active"],
            "rate": f["achieved_rate"], "asked": f["asked_rate"],
            "passed": verdict(view)["passed"] if view.report is not None else None}


def detail(view: RunView, page: PageState) -> dict[str, Any]:
    f = figures(view)
    if page.rows_state != view.state or page.rows_sent > len(view.rows):
        page.rows_sent = 0  # the report's rows replace the live ones
    rows, reset = view.rows[page.rows_sent:], page.rows_sent == 0
    page.rows_sent, page.rows_state = len(view.rows), view.state
    last_ts = view.rows[-1].get("timestamp") if view.rows else None
    return {"run": view.run, "state": view.state, "profile": masked(view.profile),
            "started_here": view.started_here, "counters": counters(view),
            "failed_by_code": f["failed_by_code"], "lost_agents": f["lost_agents"],
            "replaced_agents": f.get("replaced_agents", []),
            "by_agent": f["by_agent"], "verdict": verdict(view), "rows": rows,
            "scenario": f.get("scenario", "built-in"), "steps": f.get("steps", []),
            "reset": reset, "last_timestamp": last_ts, "end_reason": f["end_reason"],
            "stopped": f["stopped"] if view.report is not None else False,
            "media": _has_media(view), "report": view.report is not None}


def _has_media(view: RunView) -> bool:
    media = (view.report or {}).get("media") or {}
    return bool(view.profile.get("media") or media.get("calls_measured")
                or any(r.get("interval_mos_p50") for r in view.rows[-60:]))


def update(dash: Dashboard, page: PageState, limit: int = EVENTS_PER_UPDATE) -> dict[str, Any]:
    """The update for one page (call with ``dash.lock`` held)."""
    runs = dash.runs.runs
    watched = runs.get(page.watch)
    events = dash.tail.since(page.events_after, page.sub, limit)
    page.events_after = dash.tail.count
    return {"type": "update", "sent": round(time.time(), 3), "fleet": dash.fleet.view(),
            "role": {"read_only": dash.read_only, "why": dash.read_only_why},
            "dropped": dash.dropped,
            "runs": [summary(v) for v in reversed(list(runs.values()))],
            "run": detail(watched, page) if watched is not None else None,
            "events": events, "events_total": dash.tail.count}
