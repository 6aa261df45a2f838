"""``/metrics``: the coordinator's published snapshot (``coordinator.server.metrics``), rendered by
prometheus_client and served by prometheus_client's threaded HTTP server, off the loop.

* A custom collector (``SnapshotCollector``) in a ``CollectorRegistry`` of its own (not the
  process-global one) turns the current snapshot into metric families; prometheus_client writes
  them in valid exposition format (each family's HELP and TYPE, then its samples; OpenMetrics
  when the scraper asks for it). A family with nothing to show is left out, never sent empty.
* Setup times become a real histogram: the mergeable ``proto.hist`` buckets (microseconds,
  ~1.6% wide) are summed into cumulative ``le`` buckets in seconds at ``SETUP_BUCKETS_S``. A
  source bucket counts under a bound only when all of it lies at or below it, so a count is
  never above the truth; ``_sum`` adds bucket midpoints.
* The server is prometheus_client's ``ThreadingWSGIServer`` (a thread per connection, as
  ``start_http_server`` runs it) in a daemon thread: an idle or slow scraper holds only its own
  thread. It is built here rather than by ``start_http_server`` for two things that function
  does not offer: paths other than ``/metrics`` get 404, and a connection that sends nothing
  for ``IDLE_TIMEOUT_S`` is closed, so idle connections do not hold threads for ever.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from coordinator.server.metrics import RunFigures, Snapshot
from proto.hist import highest_of, lowest_of

log = logging.getLogger("coordinator")

#: bucket bounds (seconds) of the exported setup-time histograms
SETUP_BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
#: seconds a connection may stay silent before the server closes it
IDLE_TIMEOUT_S = 30.0
#: an agent's heartbeat health figure -> (metric, help, factor to the metric's unit)
HEALTH_METRICS: dict[str, tuple[str, str, int]] = {
    "bridge_used": ("callfleet_agent_bridge_ports", "Conference bridge ports in use.", 1),
    "bridge_max": ("callfleet_agent_bridge_ports_max", "Conference bridge ports at most.", 1),
    "bridge_leaked": ("callfleet_agent_bridge_ports_leaked",
                      "Bridge ports in use that no live call or media object explains.", 1),
    "sockets": ("callfleet_agent_sockets", "Open sockets of the agent's PJSIP.", 1),
    "sockets_leaked": ("callfleet_agent_sockets_leaked",
                       "Open sockets that no live call or media object explains.", 1),
    "fds": ("callfleet_agent_open_fds", "Open file descriptors of the agent process.", 1),
    "rss_kb": ("callfleet_agent_resident_memory_bytes", "Resident memory of the agent process.",
               1024),
}

#: an agent's heartbeat loop counter -> (metric, help): counters, _total added by the family
LOOP_COUNTERS: dict[str, tuple[str, str]] = {
    "wakeups": ("callfleet_agent_loop_wakeups",
                "Turns of the agent's loop since it started (idle: about two a second)."),
    "woken": ("callfleet_agent_loop_woken",
              "Sleeps in PJSIP's poll that a command ended."),
}


def setup_buckets(setup: tuple[tuple[int, int], ...]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative ``(le, count)`` buckets in seconds, ``+Inf`` last, and the sum in seconds, of
    a proto.hist histogram's (index, count) pairs (values in microseconds)."""
    buckets = [(repr(float(bound)), float(sum(n for i, n in setup if highest_of(i) <= bound * 1e6)))
               for bound in SETUP_BUCKETS_S]
    buckets.append(("+Inf", float(sum(n for _, n in setup))))
    return buckets, sum(n * (lowest_of(i) + highest_of(i)) / 2e6 for i, n in setup)


def fleet_families(snap: Snapshot, now: float) -> Iterator[Metric]:
    yield GaugeMetricFamily("callfleet_agents", "Connected agents.", value=len(snap.agents))
    yield GaugeMetricFamily("callfleet_call_slots", "Call slots of connected agents.",
                            value=snap.call_slots)
    yield GaugeMetricFamily("callfleet_calls", "Live call legs on the fleet: the clients' "
                            "calls and the load runs' (both ends of a call the fleet answers "
                            "itself count).", value=snap.calls)
    yield GaugeMetricFamily("callfleet_accounts", "Accounts.", value=snap.accounts)
    yield CounterMetricFamily("callfleet_dropped_messages",
                              "Messages dropped (peer gone or queue full).", value=snap.dropped)
    yield GaugeMetricFamily("callfleet_snapshot_age_seconds",
                            "Seconds since the coordinator's loop published these figures (it "
                            "does every second: more means the loop is held up).",
                            value=max(0.0, now - snap.taken_at))


def agent_families(snap: Snapshot) -> Iterator[Metric]:
    """Per live agent: calls, slots, state and the health figures its heartbeats report."""
    if not snap.agents:
        return
    calls = GaugeMetricFamily("callfleet_agent_calls", "Calls the agent holds.", labels=["agent"])
    slots = GaugeMetricFamily("callfleet_agent_call_slots", "Call slots of the agent.",
                              labels=["agent"])
    state = GaugeMetricFamily("callfleet_agent_state", "The agent's state (1 for the state it is in).",
                              labels=["agent", "state"])
    for a in snap.agents:
        calls.add_metric([a.name], a.calls)
        slots.add_metric([a.name], a.capacity)
        state.add_metric([a.name, a.state], 1)
    yield from (calls, slots, state)
    for key, (name, text, factor) in HEALTH_METRICS.items():
        family = GaugeMetricFamily(name, text, labels=["agent"])
        for a in snap.agents:
            value = dict(a.health).get(key)
            if value is not None:
                family.add_metric([a.name], value * factor)
        if family.samples:
            yield family
    for key, (name, text) in LOOP_COUNTERS.items():
        counter = CounterMetricFamily(name, text, labels=["agent"])
        for a in snap.agents:
            value = dict(a.health).get(key)
            if value is not None:
                counter.add_metric([a.name], value)
        if counter.samples:
            yield counter


def _run_families(prefix: str, text: str, runs: Iterable[RunFigures],
                  labels: list[str]) -> Iterator[Metric]:
    """Calls by outcome, failures by code and the setup histogram of ``runs`` (labelled by run
    when ``labels`` is ``["run"]``)."""
    runs = list(runs)
    calls = CounterMetricFamily(f"{prefix}_calls", f"Load-run calls by outcome{text}.",
                                labels=[*labels, "outcome"])
    failures = CounterMetricFamily(f"{prefix}_failures",
                                   f"Failed load-run calls by SIP code or PJSIP status{text}.",
                                   labels=[*labels, "code"])
    setup = HistogramMetricFamily(f"{prefix}_setup_seconds",
                                  f"Load-run call setup time, INVITE to 200 OK{text}.", labels=labels)
    for r in runs:
        own = [r.run] if labels else []
        for outcome, n in (("started", r.started), ("answered", r.answered),
                           ("failed", r.failed_total)):
            calls.add_metric([*own, outcome], n)
        for code, n in r.failed:
            failures.add_metric([*own, code], n)
        buckets, total_s = setup_buckets(r.setup)
        setup.add_metric(own, buckets, total_s)
    yield from (f for f in (calls, failures, setup) if f.samples)


def load_families(snap: Snapshot) -> Iterator[Metric]:
    yield from _run_families("callfleet_load", ", every run since the coordinator started",
                             [snap.load_total], [])
    live = [r for r in snap.runs if r.live]
    yield GaugeMetricFamily("callfleet_load_runs", "Load runs in progress.", value=len(live))
    if live:
        active = GaugeMetricFamily("callfleet_load_active", "Load-run calls up now.",
                                   labels=["run"])
        for r in live:
            active.add_metric([r.run], r.active)
        yield active
    yield from _run_families("callfleet_load_run", " (runs in progress and the last ones ended)",
                             snap.runs, ["run"])


class SnapshotCollector:
    """A prometheus_client collector of the last snapshot the loop published."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot  # one read: the loop may publish another meanwhile
        if snap is None:
            return
        yield from fleet_families(snap, time.monotonic())
        yield from agent_families(snap)
        yield from load_families(snap)


class _Handler(WSGIRequestHandler):
    timeout = IDLE_TIMEOUT_S

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not logged."""


def _only_metrics(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: try /metrics\n"]
        return app(environ, start_response)
    return serve


class MetricsServer:
    """``/metrics`` on host:port from threads of its own; ``publish`` hands it a new snapshot.
    Raises OSError when the address cannot be bound (a busy port, an unknown host)."""

    def __init__(self, host: str, port: int) -> None:
        self.collector = SnapshotCollector()
        self.registry = CollectorRegistry()
        self.registry.register(self.collector)
        ProcessCollector(registry=self.registry)  # the coordinator's own CPU, memory, fds
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]

        class Server(ThreadingWSGIServer):
            address_family = family

            def handle_error(self, request: Any, client_address: Any) -> None:
                log.debug("/metrics connection from %s ended with an error", client_address,
                          exc_info=True)  # a scraper that timed out or went away

        self.httpd = make_server(host, port, _only_metrics(make_wsgi_app(self.registry)), Server,
                                 handler_class=_Handler)
        self.port: int = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="callfleet-metrics",
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The URL to scrape (loopback when bound to every address)."""
        host = str(self.httpd.server_address[0])
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/metrics"

    def publish(self, snapshot: Snapshot) -> None:
        self.collector.snapshot = snapshot

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
