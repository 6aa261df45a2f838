"""A Prometheus text-format /metrics endpoint served from the coordinator's own loop (its
listening socket sits in the same poller as the ZeroMQ sockets; no thread). Pure rendering
plus a tiny HTTP/1.0 responder."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from proto.hist import Histogram, highest_of, lowest_of

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator
    from coordinator.server.load.run import LoadRun

#: bucket bounds (seconds) of the exported setup-time histogram
SETUP_BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def _hist_lines(name: str, h: Histogram, labels: str) -> list[str]:
    out = []
    for bound in SETUP_BUCKETS_S:
        n = sum(c for i, c in h.counts.items() if highest_of(i) <= bound * 1e6)
        out.append(f'{name}_bucket{{{labels}le="{bound:g}"}} {n}')
    out.append(f'{name}_bucket{{{labels}le="+Inf"}} {h.total}')
    out.append(f"{name}_sum {sum(c * (lowest_of(i) + highest_of(i)) / 2e6 for i, c in h.counts.items())}")
    out.append(f"{name}_count {h.total}")
    return out


def render(server: Coordinator) -> str:
    live = server.registry.live()
    lines = [
        "# HELP callfleet_agents Connected agents.", "# TYPE callfleet_agents gauge",
        f"callfleet_agents {len(live)}",
        "# HELP callfleet_call_slots Call slots of connected agents.",
        "# TYPE callfleet_call_slots gauge", f"callfleet_call_slots {sum(a.capacity for a in live)}",
        "# HELP callfleet_calls Live calls made or answered through the client API.",
        "# TYPE callfleet_calls gauge", f"callfleet_calls {len(server.objects.calls)}",
        "# HELP callfleet_accounts Accounts.", "# TYPE callfleet_accounts gauge",
        f"callfleet_accounts {len(server.objects.accounts)}",
        "# HELP callfleet_dropped_messages_total Messages dropped (peer gone or queue full).",
        "# TYPE callfleet_dropped_messages_total counter",
        f"callfleet_dropped_messages_total {server.sockets.dropped + server.delivery.dropped}",
        "# HELP callfleet_load_calls_total Load-run calls by outcome.",
        "# TYPE callfleet_load_calls_total counter",
        "# HELP callfleet_load_active Load-run calls up now.", "# TYPE callfleet_load_active gauge",
        "# HELP callfleet_load_setup_seconds Load-run setup time (INVITE to 200).",
        "# TYPE callfleet_load_setup_seconds histogram",
    ]
    totals = server.load_totals
    setup = Histogram()
    setup.merge(totals.setup)
    started, answered, failed = totals.started, totals.answered, totals.failed
    for run in server.loads.values():
        started, answered = started + run.started, answered + run.answered
        failed += sum(run.failed.values())
        setup.merge(run.setup)
        lines.append(f'callfleet_load_active{{run="{run.run}"}} {sum(run.active.values())}')
    lines += [f'callfleet_load_calls_total{{outcome="started"}} {started}',
              f'callfleet_load_calls_total{{outcome="answered"}} {answered}',
              f'callfleet_load_calls_total{{outcome="failed"}} {failed}']
    lines += _hist_lines("callfleet_load_setup_seconds", setup, "")
    return "\n".join(lines) + "\n"


@dataclass
class LoadTotals:
    """What finished load runs add to the exported counters."""

    started: int = 0
    answered: int = 0
    failed: int = 0
    setup: Histogram = field(default_factory=Histogram)

    def add(self, run: LoadRun) -> None:
        self.started += run.started
        self.answered += run.answered
        self.failed += sum(run.failed.values())
        self.setup.merge(run.setup)


class MetricsServer:
    """Listens on host:port; ``serve_one`` answers one waiting connection."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port: int = self.sock.getsockname()[1]

    def fileno(self) -> int:
        return self.sock.fileno()

    def serve_one(self, server: Coordinator) -> None:
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        with conn:
            conn.settimeout(0.5)
            try:
                request = conn.recv(4096).decode("latin-1")
            except OSError:
                return
            path = request.split(" ", 2)[1] if request.count(" ") >= 2 else ""
            if path.split("?")[0] == "/metrics":
                body, status = render(server).encode(), "200 OK"
            else:
                body, status = b"not found: try /metrics\n", "404 Not Found"
            head = (f"HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
            try:
                conn.sendall(head.encode() + body)
            except OSError:
                pass  # the scraper went away

    def close(self) -> None:
        self.sock.close()
