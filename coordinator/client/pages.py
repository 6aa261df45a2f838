"""Following lib.agents' pages (PROTOCOL.md, lib.agents): one place for the Python client and the
dashboard, which each send requests their own way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Request = Callable[[str, dict[str, Any]], dict[str, Any]]


def every_agent(request: Request, first: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every agent lib.agents lists, in name order, page after page. ``first``: a reply in hand
    whose ``agents`` are lib.agents' first page (a lib.agents reply, or lib.status's, which
    says ``agents_total`` instead of ``next``)."""
    page = first if first is not None else request("lib.agents", {})
    agents: list[dict[str, Any]] = list(page["agents"])
    after = page.get("next") or (agents[-1]["name"] if agents and
                                 int(page.get("agents_total", 0)) > len(agents) else "")
    while after:
        page = request("lib.agents", {"after": after})
        agents.extend(page["agents"])
        after = page.get("next", "")
    return agents
