"""The charts of a load run, drawn with matplotlib (its object API and the Agg canvas: no
display, no global pyplot state): rate asked against achieved, calls up, setup time per
interval, failures per interval and by code, and RTP loss, jitter and MOS when calls were
measured. Pure: a report in, PNG bytes or an SVG string out."""

from __future__ import annotations

import io
import logging
import math
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

logging.getLogger("matplotlib").setLevel(logging.WARNING)  # its font cache notes are not ours

#: one colour per meaning, the same in every panel
COLOURS = {"asked": "#6b7280", "rate": "#93c5fd", "window": "#1d4ed8", "up": "#059669",
           "p50": "#1d4ed8", "p95": "#d97706", "p99": "#dc2626", "failed": "#dc2626",
           "lost": "#7c3aed", "loss": "#dc2626", "jitter": "#d97706", "mos": "#059669"}


def _col(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [float(r.get(key) or 0.0) for r in rows]


def _measured(rows: list[dict[str, Any]], key: str) -> list[float]:
    """A media column, blank (NaN: no line) in the intervals where no call was measured."""
    return [float(r[key]) if r.get("interval_mos_p50") else math.nan for r in rows]


def _from_zero(rows: list[dict[str, Any]], ramp: float) -> list[dict[str, Any]]:
    """The rows with the run's start before them (nothing up, nothing counted yet; the target
    at 0 when the rate ramps up, else the rate asked)."""
    if not rows:
        return rows
    return [{"t": 0.0, "target_rate": 0.0 if ramp else rows[0].get("target_rate", 0.0)}, *rows]


def _rate(ax: Axes, rows: list[dict[str, Any]]) -> None:
    t = _col(rows, "t")
    ax.plot(t, _col(rows, "target_rate"), "--", color=COLOURS["asked"], label="asked")
    ax.plot(t, _col(rows, "rate"), color=COLOURS["rate"], linewidth=1, label="last interval")
    ax.plot(t, _col(rows, "rate_window"), color=COLOURS["window"], linewidth=2,
            label="last 5 s")
    ax.set_title("Call rate")
    ax.set_ylabel("calls/s")


def _up(ax: Axes, rows: list[dict[str, Any]]) -> None:
    t = _col(rows, "t")
    ax.fill_between(t, _col(rows, "active"), color=COLOURS["up"], alpha=0.25)
    ax.plot(t, _col(rows, "active"), color=COLOURS["up"], label="calls up")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Calls up")
    ax.set_ylabel("calls")


def _setup(ax: Axes, rows: list[dict[str, Any]]) -> None:
    t = _col(rows, "t")
    for p in ("p50", "p95", "p99"):  # blank where no call was answered in the interval
        ax.plot(t, [float(r[f"interval_setup_{p}_ms"]) if r.get("interval_answered") else math.nan
                    for r in rows], color=COLOURS[p], label=p,
                marker="." if len(rows) < 30 else None)
    ax.set_title("Setup time, per interval")
    ax.set_ylabel("ms")


def _failures(ax: Axes, rows: list[dict[str, Any]]) -> None:
    t = _col(rows, "t")
    ax.bar(t, _col(rows, "interval_failed"), width=0.9, color=COLOURS["failed"],
           label="failed in the interval")
    lost = _col(rows, "lost")
    if any(lost):
        ax.step(t, lost, where="post", color=COLOURS["lost"], label="lost (total)")
    if not any(_col(rows, "interval_failed")) and not any(lost):
        ax.set_ylim(0, 1)  # nothing to show: a 0..1 count axis, not ticks of 0.006
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Failures over time")
    ax.set_ylabel("calls")


def _codes(ax: Axes, report: dict[str, Any]) -> None:
    codes = sorted((report.get("failed_by_code") or {}).items(), key=lambda kv: -kv[1])
    if report.get("lost"):
        codes.append(("lost", report["lost"]))
    if not codes:
        ax.text(0.5, 0.5, "no failed call", ha="center", va="center", transform=ax.transAxes,
                fontsize=12, color=COLOURS["up"])
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        rows = range(len(codes))
        bars = ax.barh(rows, [n for _, n in codes], height=0.6, color=COLOURS["failed"])
        ax.bar_label(bars, padding=3)
        ax.set_yticks(rows, labels=[str(c) for c, _ in codes])
        ax.set_ylim(max(len(codes), 4) - 0.5, -0.5)  # top down; few codes stay thin bars
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.margins(x=0.1)
        ax.set_xlabel("calls")
    ax.set_title(f"Failures by code ({report['failed'] + report.get('lost', 0)} of "
                 f"{report['attempted']})")


def _media(ax: Axes, rows: list[dict[str, Any]]) -> None:
    t = _col(rows, "t")
    lines = ax.plot(t, _measured(rows, "interval_rtp_loss_pct"), color=COLOURS["loss"],
                    label="RTP loss %")
    lines += ax.plot(t, _measured(rows, "interval_jitter_p95_ms"), color=COLOURS["jitter"],
                     label="jitter p95 ms")
    ax.set_ylim(bottom=0)
    ax.set_title("Media, per interval")
    mos = ax.twinx()
    lines += mos.plot(t, _measured(rows, "interval_mos_p50"), color=COLOURS["mos"],
                      label="MOS p50")
    mos.set_ylim(1, 5)
    mos.set_ylabel("MOS")
    # one legend for both axes, under the panel, where no line runs
    ax.legend(handles=lines, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3,
              fontsize=8, frameon=False)


def figure(report: dict[str, Any]) -> Figure:
    rows = _from_zero(report.get("timeseries") or [],
                      float((report.get("profile") or {}).get("ramp") or 0.0))
    measured = (report.get("media") or {}).get("calls_measured", 0)
    panels = [_rate, _up, _setup, _failures]
    n = len(panels) + 1 + (1 if measured else 0)
    fig = Figure(figsize=(12, 2.6 * ((n + 1) // 2) + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots((n + 1) // 2, 2, squeeze=False).flatten()
    for ax, draw in zip(axes, panels, strict=False):
        draw(ax, rows)
        ax.set_xlabel("seconds")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        # from 0, with room above the highest point (a flat line otherwise sits on the edge,
        # above the last tick: every call set up in 2,003 ms under a top tick of 2,000)
        top = ax.dataLim.y1
        ax.set_ylim(0, max(ax.get_ylim()[1], 1.1 * top if math.isfinite(top) else 0.0))
    _codes(axes[len(panels)], report)
    if measured:
        _media(axes[len(panels) + 1], rows)
        axes[len(panels) + 1].set_xlabel("seconds")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title(report), fontsize=13, fontweight="bold")
    return fig


def title(report: dict[str, Any]) -> str:
    p = report.get("profile") or {}
    verdict = report.get("verdict") or {}
    outcome = ("INTERRUPTED" if report.get("interrupted")
               else "PASS" if verdict.get("passed", report.get("success")) else "FAIL")
    what = f"{p.get('rate', '?')} calls/s asked"
    if p.get("calls"):
        what += f", {p['calls']} calls"
    if p.get("duration"):
        what += f", {p['duration']:g} s"
    n = len(report.get("agents", []))
    return (f"callfleet load run {report['run']}: {what}, {n} agent{'' if n == 1 else 's'}, "
            f"{report['elapsed_s']:.0f} s  —  {outcome}")


def png(report: dict[str, Any], dpi: int = 100) -> bytes:
    out = io.BytesIO()
    figure(report).savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def svg(report: dict[str, Any]) -> str:
    out = io.StringIO()
    figure(report).savefig(out, format="svg")
    return out.getvalue()
