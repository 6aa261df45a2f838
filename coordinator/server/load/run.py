"""A load run as the coordinator sees it (pure): the agents' shares and their merged counters
and histograms. The loop feeds it the agents' load.stats and a clock; ``load.series`` keeps its
figures over time and ``load.report`` writes its report.

Every attempted call ends in exactly one outcome: completed (answered, then ended), failed (not
answered; by SIP code and by status line, both summing to the failed count) or lost (up on an
agent when that agent was lost: its end is never reported). While the run goes, the rest are
active: attempted = completed + failed + lost + active."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coordinator.server.load.plan import Profile
from coordinator.server.load.series import Series
from proto.hist import Histogram
from proto.steptable import StepTable

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
    completed: int = 0
    #: calls that were up on agents lost during the run
    lost: int = 0
    delayed: int = 0
    incoming: int = 0
    dtmf_ok: int = 0
    #: REFERs the agents accepted on the run's calls (each a new call)
    transferred: int = 0
    dtmf_missed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    setup: Histogram = field(default_factory=Histogram)
    duration: Histogram = field(default_factory=Histogram)
    #: per agent: calls it placed that are up, calls it answers that are up (slots used)
    active: dict[str, int] = field(default_factory=dict)
    answering: dict[str, int] = field(default_factory=dict)
    media_calls: int = 0
    rtp_rx: int = 0
    rtp_lost: int = 0
    loss_pm: Histogram = field(default_factory=Histogram)
    jitter: Histogram = field(default_factory=Histogram)
    mos: Histogram = field(default_factory=Histogram)
    #: the scenario's steps over every agent
    steps: StepTable = field(default_factory=StepTable)
    #: per agent: the steps its calls were at in its last report (load.stats ``at``)
    at: dict[str, dict[str, int]] = field(default_factory=dict)
    by_agent: dict[str, Counter[str]] = field(default_factory=dict)
    caller_done: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    lost_agents: list[str] = field(default_factory=list)
    #: lost agents whose replacement took their part again
    replaced_agents: list[str] = field(default_factory=list)
    #: each agent's SIP host:port when it took its part (a replacement's differs)
    hostports: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    tone_heard: int = 0
    tone_missed: int = 0
    tone_unchecked: int = 0
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
    series: Series = field(default_factory=Series)
    #: when the agents were let start calling (the ramp counts from there)
    released_at: float = 0.0
    #: the ramp no longer applies (load.set_rate)
    ramp_over: bool = False
    #: load.set_rate so far: (seconds since release, new rate)
    rate_changes: list[tuple[float, float]] = field(default_factory=list)
    #: per agent, when its last call started (seconds into its part: its reports' last_start)
    last_starts: dict[str, float] = field(default_factory=dict)
    seq: int = 0
    #: rebuilt by a restarted coordinator from its agents' holdings (coordinator.server.adoption)
    adopted: bool = False
    #: per agent, the reports (its load.stats seq numbers) the adopted totals include already
    counted_upto: dict[str, int] = field(default_factory=dict)
    _next_row: float = 0.0

    def __post_init__(self) -> None:
        self.rate = self.profile.rate
        self._next_row = self.started_at + 1.0
        # registrar runs wait for every registration, self-answering runs for every agent's
        # answering account (coordinator.server.load.steering)
        self.released = not self.profile.registrar and not self.profile.self_answer
        self.released_at = self.started_at
        flow = self.profile.flow
        for leg in ("caller", "callee", "transferee"):
            if leg != "callee" or self.profile.self_answer:  # else the far end answers
                self.steps.declare(leg, flow.get(leg) or [])

    @property
    def agents(self) -> list[str]:
        return sorted(self.shares)

    def on_report(self, agent: str, number: int, data: dict[str, Any], now: float) -> None:
        """An agent's load.stats numbered ``number`` (its seq): added unless the totals adopted
        from the agent include it already."""
        if number > self.counted_upto.get(agent, 0):
            self.on_stats(agent, data, now)

    def adopt_totals(self, agent: str, totals: dict[str, Any], now: float) -> None:
        """A restarted coordinator takes over: the agent's part so far, summed (no rate: the
        totals span the whole run, not an interval)."""
        self.on_stats(agent, totals, now, interval=False)

    def on_stats(self, agent: str, data: dict[str, Any], now: float,
                 interval: bool = True) -> None:
        """Add one agent's deltas (malformed histograms are ignored, counters still count)."""
        if agent not in self.shares or agent in self.lost_agents:
            return
        last = data.get("last_start")
        if isinstance(last, (int, float)) and not isinstance(last, bool) and last > 0:
            self.last_starts[agent] = max(self.last_starts.get(agent, 0.0), float(last))
        self.started += data["started"]
        self.answered += data["answered"]
        self.completed += _count(data.get("completed"))
        self.delayed += data["delayed"]
        self.incoming += data["incoming"]
        failed = self._add_failures(data)
        self._count_agent(agent, data, failed)
        self.dtmf_ok += _count(data.get("dtmf_ok"))
        self.transferred += _count(data.get("transferred"))
        self.dtmf_missed += _count(data.get("dtmf_missed"))
        setup = _hist(data.get("setup"))
        if setup is not None:
            self.setup.merge(setup)
        duration = _hist(data.get("duration"))
        if duration is not None:
            self.duration.merge(duration)
        self.steps.merge_wire(data.get("steps"))
        if isinstance(data.get("at"), dict):
            self.at[agent] = data["at"]
        media = data.get("media") if isinstance(data.get("media"), dict) else None
        media = media if media is not None and self._add_media(media) else None
        if interval:
            self.series.add(agent, data, failed, setup, media)
        self.tone_heard += _count(data.get("tone_heard"))
        self.tone_missed += _count(data.get("tone_missed"))
        self.tone_unchecked += _count(data.get("tone_unchecked"))
        self._add_registration(agent, data)
        self.active[agent] = data["active"]
        self.answering[agent] = _count(data.get("answering"))
        if data["caller_done"]:
            self.caller_done.add(agent)
        if data["done"]:
            self.done.add(agent)
            self.active[agent] = self.answering[agent] = 0

    def _add_failures(self, data: dict[str, Any]) -> int:
        """Failures by code, and by status line (past MAX_REASONS lines, as "other": both sum
        to the failed count). Returns the report's failed count."""
        failed = 0
        for code, n in data["failed"].items():
            if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                self.failed[str(code)] += n
                failed += n
        reasons = data.get("failed_reasons")
        for text, n in (reasons.items() if isinstance(reasons, dict) else ()):
            if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                key = str(text) if text in self.reasons or len(self.reasons) < MAX_REASONS \
                    else "other"
                self.reasons[key] += n
        return failed

    def _add_registration(self, agent: str, data: dict[str, Any]) -> None:
        if isinstance(data.get("identities"), int):
            self.identities[agent] = data["identities"]
            self.registered[agent] = _count(data.get("registered"))
            failed = data.get("reg_failed")
            self.reg_failed[agent] = {str(k): v for k, v in failed.items()
                                      if isinstance(v, int)} if isinstance(failed, dict) else {}

    def _count_agent(self, agent: str, data: dict[str, Any], failed: int) -> None:
        mine = self.by_agent.setdefault(agent, Counter())
        for key in ("started", "answered", "incoming"):
            mine[key] += data[key]
        mine["failed"] += failed

    def _add_media(self, media: dict[str, Any]) -> bool:
        for key in ("calls", "rx", "lost"):
            if not isinstance(media.get(key), int):
                return False
        self.media_calls += media["calls"]
        self.rtp_rx += media["rx"]
        self.rtp_lost += media["lost"]
        for name, hist in (("loss_pm", self.loss_pm), ("jitter", self.jitter), ("mos", self.mos)):
            h = _hist(media.get(name))
            if h is not None:
                hist.merge(h)
        return True

    def registration(self, now: float) -> str:
        """A registrar run before its calls: "wait", "go" (every identity of every agent in the
        run is registered) or why the run must end."""
        failed: Counter[str] = Counter()
        for codes in self.reg_failed.values():
            failed.update(codes)
        if failed:
            return "registration failed: " + ", ".join(
                f"{n} x {code}" for code, n in sorted(failed.items()))
        live = set(self.shares) - set(self.lost_agents)
        if live and all(self.identities.get(a) is not None
                        and self.registered.get(a) == self.identities[a] for a in live):
            return "go"
        if now - self.started_at > REGISTER_TIMEOUT_S:
            return (f"registration timed out: {sum(self.registered.values())} of "
                    f"{sum(self.identities.values())} identities registered in "
                    f"{REGISTER_TIMEOUT_S:g} s")
        return "wait"

    def release(self, now: float) -> None:
        """The agents start calling now."""
        if not self.released:
            self.released = True
            self.released_at = now

    def agent_lost(self, agent: str) -> None:
        """The calls the agent had up are lost (their end will never be reported)."""
        if agent in self.shares and agent not in self.done:
            self.lost_agents.append(agent)
            self.lost += self.active.get(agent, 0)
            steps = (self.shares[agent].get("caller") or {}).get("steps") or []
            self.steps.lost_at("caller", self.at.pop(agent, {}), steps)
            self.done.add(agent)
            self.caller_done.add(agent)
            self.active[agent] = self.answering[agent] = 0
            self.series.forget(agent)

    def rejoined(self, agent: str, share: dict[str, Any]) -> None:
        """A replacement for the lost ``agent`` took ``share``: its reports count again."""
        if agent in self.lost_agents:
            self.lost_agents.remove(agent)
            self.replaced_agents.append(agent)
        self.shares[agent] = share
        self.done.discard(agent)
        if "caller" in share:
            self.caller_done.discard(agent)

    def refused_by(self, agent: str, why: str) -> None:
        """The agent refused its share: it never took part."""
        self.refused[agent] = why
        self.done.add(agent)
        self.caller_done.add(agent)

    def should_end(self) -> bool:
        """Every caller is through: time to tell all agents to finish."""
        return not self.ending and self.caller_done >= set(self.shares)

    def finished(self) -> bool:
        return self.done >= set(self.shares)

    def slots_at(self, agent: str) -> int:
        """Call slots the run's calls take on ``agent`` now (both ends of a self call)."""
        return self.active.get(agent, 0) + self.answering.get(agent, 0)

    def accounts_at(self, agent: str) -> int:
        """Accounts the run made on ``agent``: its calling identities and answering account."""
        if agent in self.done:
            return 0
        share = self.shares.get(agent) or {}
        return len((share.get("caller") or {}).get("ids") or []) + (1 if share.get("answer") else 0)

    def target_now(self, now: float) -> float:
        """The rate asked for now: on the ramp, the part of the rate reached so far."""
        ramp = self.profile.ramp
        over = self.profile.duration and not self.profile.calls and (
            now - self.released_at >= self.profile.duration)
        if not self.released or over or self.caller_done >= set(self.shares) or self.ending:
            return 0.0  # not calling yet, or not any more
        if ramp > 0 and not self.ramp_over and now - self.released_at < ramp:
            return round(self.rate * max(0.0, now - self.released_at) / ramp, 3)
        return self.rate

    def set_rate(self, rate: float, now: float) -> None:
        self.rate = rate
        self.ramp_over = True
        self.rate_changes.append((max(0.0, now - self.released_at) if self.released else 0.0,
                                  rate))

    def calling_s(self) -> float:
        """Seconds the run's calls took: to the last start (on the agents' own clocks), plus
        the interval to the call that would have come next at the rate."""
        if not self.started:
            return 0.0
        last = max(self.last_starts.values(), default=0.0)
        return last + (1.0 / self.rate if self.rate > 0 else 0.0)

    def asked_calls(self, window: float) -> float:
        """The calls the rate asked for in the first ``window`` seconds of calling: the ramp,
        then each rate set since, integrated."""
        total, t, rate, ramp = 0.0, 0.0, self.profile.rate, self.profile.ramp
        for at, new in [*self.rate_changes, (window, rate)]:
            end = min(at, window)
            if end > t:
                total += _ramped(rate, ramp, end) - _ramped(rate, ramp, t)
                t = end
            if at >= window:
                break
            rate, ramp = new, 0.0
        return total

    def totals(self, now: float) -> dict[str, Any]:
        """The run's figures so far (every row and progress event carries them)."""
        return {"elapsed": round(now - self.started_at, 3), "t": round(now - self.started_at, 3),
                "timestamp": round(self.wall_start + (now - self.started_at), 3),
                "target_rate": self.target_now(now), "started": self.started,
                "answered": self.answered, "completed": self.completed,
                "failed": sum(self.failed.values()), "lost": self.lost,
                "active": sum(self.active.values()), "delayed": self.delayed,
                "setup_p50_ms": round(self.setup.percentile(50) / 1000, 3),
                "setup_p95_ms": round(self.setup.percentile(95) / 1000, 3),
                "setup_p99_ms": round(self.setup.percentile(99) / 1000, 3)}

    def progress(self, now: float) -> dict[str, Any]:
        """The live state: the totals now, the last row's interval figures and rates."""
        last = self.series.last()
        rate, window = self.series.rates()
        return {**{k: v for k, v in last.items() if k.startswith("interval_")},
                **self.totals(now), "rate": rate, "rate_window": window}

    def tick(self, now: float) -> dict[str, Any] | None:
        """Once a second: a timeseries row, which is also the progress to publish (else
        None)."""
        if now < self._next_row:
            return None
        self._next_row = now + 1.0
        return self.series.close(self.totals(now))



def _ramped(rate: float, ramp: float, x: float) -> float:
    """Calls asked for by time ``x`` at ``rate`` reached over a linear ramp of ``ramp`` s."""
    if ramp <= 0:
        return rate * x
    return rate * x * x / (2 * ramp) if x < ramp else rate * (x - ramp / 2)


def _count(value: Any) -> int:
    """A counter of a report: a non-negative int, else 0 (a bad field does not count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _hist(raw: Any) -> Histogram | None:
    try:
        return Histogram.from_wire(raw)
    except ValueError:
        return None
