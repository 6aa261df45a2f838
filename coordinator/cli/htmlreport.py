"""The HTML report of a load run (``--html``): one self-contained page, as Locust's: summary,
verdict, charts (inline SVG from ``charts``), failures by code and by status line, each agent's
part, media and the profile. Rendered with Jinja2 (autoescaped; the charts are our own SVG)."""

from __future__ import annotations

import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from coordinator.cli.charts import svg, title

_ENV = Environment(loader=PackageLoader("coordinator.cli", "templates"),
                   autoescape=select_autoescape(("html", "j2")), trim_blocks=True,
                   lstrip_blocks=True)


def render(report: dict[str, Any]) -> str:
    verdict = report.get("verdict") or {}
    outcome = ("interrupted" if report.get("interrupted")
               else "pass" if verdict.get("passed", report.get("success")) else "fail")
    written = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    reasons = sorted((report.get("failed_by_reason") or {}).items(), key=lambda kv: -kv[1])
    codes = sorted((report.get("failed_by_code") or {}).items(), key=lambda kv: -kv[1])
    return _ENV.get_template("report.html.j2").render(
        r=report, title=title(report), outcome=outcome, checks=verdict.get("checks") or [],
        chart=svg(report), codes=codes, reasons=reasons, written=written,
        profile=sorted(_shown_profile(report.get("profile") or {}).items()))


def _shown_profile(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as the report's table shows it: the 0 that means "every agent" said so."""
    return {**profile, "agents": "all"} if not profile.get("agents") else profile
