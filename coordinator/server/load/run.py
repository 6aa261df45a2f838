"""A load run as the coordinator sees it: the agents' shares, their merged counters and
histograms, a per-second timeseries, and the final report. No sockets: the broker feeds it
agents' load.stats and a clock, and sends what it returns."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coordinator.server.load.plan import Profile
from proto.hist import Histogram

#: seconds a registrar run waits for every identity to register before it gives up
REGISTER_TIMEOUT_S = 20.0
#: distinct failure reasons a report keeps (agents send at most 16 each)
MAX_REASONS = 32


@dataclass
class LoadRun:
    run: str
    owner: bytes | None
    profile: Profile
    shares: dict[str, dict[str, Any]]
    started_at: float
    wall_start: float = field(default_factory=time.time)
    rate: float = 0.0
    started: int = 0
    answered: int = 0
    delayed: int = 0
    incoming: int = 0
    dtmf_ok: int = 0
    dtmf_missed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    setup: Histogram = field(default_factory=Histogram)
    duration: Histogram = field(default_factory=Histogram)
    active: dict[str, int] = field(default_factory=dict)
    media_calls: int = 0
    rtp_rx: int = 0
    rtp_lost: int = 0
    loss_pm: Histogram = field(default_factory=Histogram)
    jitter: Histogram = field(default_factory=Histogram)
    mos: Histogram = field(default_factory=Histogram)
    by_agent: dict[str, Counter[str]] = field(default_factory=dict)
    caller_done: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    lost: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    tone_heard: int = 0
    tone_missed: int = 0
    #: registrar runs: identities each agent registers, how many are registered, failures
    identities: dict[str, int] = field(default_factory=dict)
    registered: dict[str, int] = field(default_factory=dict)
    reg_failed: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the agents were told to start calling (at once, unless identities must register first)
    released: bool = True
    #: why the run ended early ("" : it did not)
    end_reason: str = ""
    ending: bool = False
    stopped_by_user: bool = False
    rows: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0
    last_start: float = 0.0
    #: rebuilt by a restarted coordinator from its agents' holdings (coordinator.server.adoption)
    adopted: bool = False
    #: per agent, the reports (its load.stats seq numbers) the adopted totals include already
    counted_upto: dict[str, int] = field(default_factory=dict)
    _second_started: int = 0
    _next_row: float = 0.0

    def __post_init__(self) -> None:
        self.rate = self.profile.rate
        self._next_row = self.started_at + 1.0
        # registrar runs wait for every registration, self-answering runs for every agent's
        # answering account (coordinator.server.load.steering)
        self.released = not self.profile.registrar and not self.profile.self_answer

    @property
    def agents(self) -> list[str]:
        return sorted(self.shares)

    def on_report(self, agent: str, number: int, data: dict[str, Any], now: float) -> None:
        """An agent's load.stats numbered ``number`` (its seq): added unless the totals adopted
        from the agent include it already."""
        if number > self.counted_upto.get(agent, 0):
            self.on_stats(agent, data, now)

    def on_stats(self, agent: str, data: dict[str, Any], now: float) -> None:
        """Add one agent's deltas (malformed histograms are ignored, counters still count)."""
        if agent not in self.shares:
            return
        if data["started"]:
            self.last_start = now
        self.started += data["started"]
        self._second_started += data["started"]
        self.answered += data["answered"]
        self.delayed += data["delayed"]
        self.incoming += data["incoming"]
        self._count_agent(agent, data)
        self.dtmf_ok += int(data.get("dtmf_ok") or 0)
        self.dtmf_missed += int(data.get("dtmf_missed") or 0)
        for code, n in data["failed"].items():
            if isinstance(n, int):
                self.failed[str(code)] += n
        reasons = data.get("failed_reasons")
        for text, n in (reasons.items() if isinstance(reasons, dict) else ()):
            if isinstance(n, int) and (text in self.reasons or len(self.reasons) < MAX_REASONS):
                self.reasons[str(text)] += n
        for name, hist in (("setup", self.setup), ("duration", self.duration)):
            try:
                hist.merge(Histogram.from_wire(data[name]))
            except ValueError:
                pass
        media = data.get("media")
        if isinstance(media, dict):
            self._add_media(media)
        self.tone_heard += int(data.get("tone_heard") or 0)
        self.tone_missed += int(data.get("tone_missed") or 0)
        if isinstance(data.get("identities"), int):
            self.identities[agent] = data["identities"]
            self.registered[agent] = int(data.get("registered") or 0)
            failed = data.get("reg_failed")
            self.reg_failed[agent] = {str(k): v for k, v in failed.items()
                                      if isinstance(v, int)} if isinstance(failed, dict) else {}
        self.active[agent] = data["active"]
        if data["caller_done"]:
            self.caller_done.add(agent)
        if data["done"]:
            self.done.add(agent)
            self.active[agent] = 0

    def _count_agent(self, agent: str, data: dict[str, Any]) -> None:
        mine = self.by_agent.setdefault(agent, Counter())
        for key in ("started", "answered", "incoming"):
            mine[key] += data[key]
        mine["failed"] += sum(n for n in data["failed"].values() if isinstance(n, int))

    def agents_report(self) -> list[dict[str, Any]]:
        """Each agent's part, by name: calls it started, answered (as caller), answered as
        callee, failed. A list, not a map keyed by agent: a map holds at most MAX_MAP keys."""
        return [{"agent": agent, **{key: self.by_agent.get(agent, Counter())[key]
                                    for key in ("started", "answered", "incoming", "failed")}}
                for agent in self.agents]

    def _add_media(self, media: dict[str, Any]) -> None:
        for key in ("calls", "rx", "lost"):
            if not isinstance(media.get(key), int):
                return
        self.media_calls += media["calls"]
        self.rtp_rx += media["rx"]
        self.rtp_lost += media["lost"]
        for name, hist in (("loss_pm", self.loss_pm), ("jitter", self.jitter), ("mos", self.mos)):
            try:
                hist.merge(Histogram.from_wire(media.get(name)))
            except ValueError:
                pass

    def media_report(self) -> dict[str, Any]:
        """RTP loss (%), jitter (ms) and MOS across the measured calls."""
        sent = self.rtp_rx + self.rtp_lost
        return {"calls_measured": self.media_calls, "rtp_packets": self.rtp_rx,
                "rtp_lost": self.rtp_lost,
                "loss_pct": round(100 * self.rtp_lost / sent, 4) if sent else 0.0,
                "loss_pct_per_call": {f"p{p}": round(self.loss_pm.percentile(p) / 10, 3)
                                      for p in (50, 95, 99)},
                "jitter_ms": {f"p{p}": round(self.jitter.percentile(p) / 1000, 3)
                              for p in (50, 95, 99)},
                "mos": {"p5": round(self.mos.percentile(5) / 1000, 3),
                        "p50": round(self.mos.percentile(50) / 1000, 3)}}

    def registration(self, now: float) -> str:
        """A registrar run before its calls: "wait", "go" (every identity of every agent in the
        run is registered) or why the run must end."""
        failed: Counter[str] = Counter()
        for codes in self.reg_failed.values():
            failed.update(codes)
        if failed:
            return "registration failed: " + ", ".join(
                f"{n} x {code}" for code, n in sorted(failed.items()))
        live = set(self.shares) - set(self.lost)
        if live and all(self.identities.get(a) is not None
                        and self.registered.get(a) == self.identities[a] for a in live):
            return "go"
        if now - self.started_at > REGISTER_TIMEOUT_S:
            return (f"registration timed out: {sum(self.registered.values())} of "
                    f"{sum(self.identities.values())} identities registered in "
                    f"{REGISTER_TIMEOUT_S:g} s")
        return "wait"

    def registration_report(self) -> dict[str, Any]:
        failed: Counter[str] = Counter()
        for codes in self.reg_failed.values():
            failed.update(codes)
        return {"identities": sum(self.identities.values()),
                "registered": sum(self.registered.values()), "failed_by_code": dict(failed)}

    def agent_lost(self, agent: str) -> None:
        if agent in self.shares and agent not in self.done:
            self.lost.append(agent)
            self.done.add(agent)
            self.caller_done.add(agent)
            self.active[agent] = 0

    def should_end(self) -> bool:
        """Every caller is through: time to tell all agents to finish."""
        return not self.ending and self.caller_done >= set(self.shares)

    def finished(self) -> bool:
        return self.done >= set(self.shares)

    def progress(self, now: float) -> dict[str, Any]:
        return {"elapsed": round(now - self.started_at, 3), "started": self.started,
                "answered": self.answered, "failed": sum(self.failed.values()),
                "active": sum(self.active.values()),
                "rate": float(self.rows[-1]["rate"]) if self.rows else 0.0,
                "target_rate": self.rate, "delayed": self.delayed,
                "setup_p50_ms": round(self.setup.percentile(50) / 1000, 3),
                "setup_p95_ms": round(self.setup.percentile(95) / 1000, 3)}

    def tick(self, now: float) -> dict[str, Any] | None:
        """Once a second: a timeseries row and the progress to publish (else None)."""
        if now < self._next_row:
            return None
        self._next_row = now + 1.0
        row = {"t": round(now - self.started_at, 3), "rate": float(self._second_started),
               "started": self.started, "answered": self.answered,
               "failed": sum(self.failed.values()), "active": sum(self.active.values()),
               "setup_p50_ms": round(self.setup.percentile(50) / 1000, 3),
               "setup_p95_ms": round(self.setup.percentile(95) / 1000, 3)}
        self._second_started = 0
        self.rows.append(row)
        return self.progress(now)

    def start_window(self, now: float) -> float:
        """Seconds during which calls were started: the run's duration when it is timed, else
        up to the last report that counted a start (agents report once a second)."""
        if self.profile.duration and not self.profile.calls:
            return self.profile.duration
        return max(1.0, (self.last_start or now) - self.started_at)

    def report(self, now: float) -> dict[str, Any]:
        elapsed = max(1e-9, now - self.started_at)
        failed = sum(self.failed.values())
        planned = self.profile.calls
        return {
            "run": self.run, "agents": self.agents, "lost_agents": self.lost,
            "refused_agents": self.refused, "stopped": self.stopped_by_user,
            "profile": self.profile.public(), "end_reason": self.end_reason,
            "elapsed_s": round(elapsed, 3), "attempted": self.started, "answered": self.answered,
            "failed": failed, "failed_by_code": dict(self.failed),
            "failed_by_reason": dict(self.reasons),
            "unplaced": max(0, planned - self.started) if planned else 0,
            "asr": round(self.answered / self.started, 4) if self.started else 0.0,
            "achieved_rate": round(self.started / self.start_window(now), 3),
            "delayed_for_capacity": self.delayed, "incoming": self.incoming,
            "setup_ms": self.setup.summary_ms(), "duration_ms": self.duration.summary_ms(),
            "media": self.media_report(),
            "dtmf": {"digits": self.profile.dtmf, "verified": self.dtmf_ok,
                     "missed": self.dtmf_missed},
            "tone": {"heard": self.tone_heard, "missed": self.tone_missed},
            "registration": self.registration_report() if self.profile.registrar else None,
            "timeseries": self.rows, "by_agent": self.agents_report(),
            "success": (failed == 0 and self.started > 0 and self.answered == self.started
                        and self.dtmf_missed == 0 and self.tone_missed == 0
                        and not self.end_reason
                        and not self.lost and (not planned or self.started == planned)),
        }
