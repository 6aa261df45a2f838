"""Do /metrics scrapers slow the coordinator? A benchmark: it prints figures, asserts nothing.

Starts an embedded fleet whose coordinator serves /metrics (``--metrics-port 0``) and times
``lib.status`` round trips (one request in flight at a time) in three settings:

* ``quiet``: nobody connected to the metrics port (the baseline);
* ``10 idle``: ten TCP connections to the metrics port that send nothing, held open (a
  connection the server closes is opened again at once);
* ``hammered``: another process scrapes /metrics in a loop, one request after the other, as
  fast as it is answered (its scrapes per second are printed too).

    python bench/metrics_scrape.py [--count 2000] [--agents 2] [--idle 10]
"""

from __future__ import annotations

import argparse
import math
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from coordinator.client import Lib

#: requests sent before timing starts
WARMUP = 50
#: the scraper process: GETs /metrics back to back until its stdin closes, then prints how many
SCRAPER = """
import sys, threading, urllib.request
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
n = 0
while not done.is_set():
    with urllib.request.urlopen(sys.argv[1], timeout=30) as r:
        r.read()
    n += 1
print(n)
"""


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def time_status(lib: Lib, n: int) -> tuple[list[float], float]:
    """``n`` lib.status round trips in ms, sorted, and the seconds they took in all."""
    for _ in range(WARMUP):
        lib.status()
    samples = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        lib.status()
        samples.append((time.perf_counter() - t) * 1000)
    return sorted(samples), time.perf_counter() - t0


@contextmanager
def idle_connections(host: str, port: int, n: int) -> Iterator[list[int]]:
    """``n`` silent connections, reopened when the server closes one; yields [reopened]."""
    stop, reopened = threading.Event(), [0]

    def hold() -> None:
        sock = socket.create_connection((host, port))
        while not stop.is_set():
            sock.settimeout(0.2)
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
            except OSError:
                closed = True
            if closed and not stop.is_set():
                sock.close()
                sock = socket.create_connection((host, port))
                reopened[0] += 1
        sock.close()

    threads = [threading.Thread(target=hold, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # every connection made and accepted (or waiting to be)
    try:
        yield reopened
    finally:
        stop.set()
        for t in threads:
            t.join(5)


@contextmanager
def hammering(url: str) -> Iterator[list[float]]:
    """Another process scraping ``url`` back to back; yields [scrapes per second], filled at
    the end."""
    proc = subprocess.Popen([sys.executable, "-c", SCRAPER, url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    rate: list[float] = []
    t0 = time.perf_counter()
    time.sleep(0.5)  # the scraper is going
    try:
        yield rate
    finally:
        out, _ = proc.communicate("", timeout=60)
        rate.append(int(out.strip() or 0) / (time.perf_counter() - t0))


def row(name: str, ms: Sequence[float], wall_s: float, note: str = "") -> str:
    return (f"{name:<12}{len(ms):>7}{percentile(ms, 50):>9.3f}{percentile(ms, 99):>9.3f}"
            f"{ms[-1]:>10.3f}{len(ms) / wall_s:>9.0f}  {note}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--count", type=int, default=2000, help="lib.status requests per setting")
    p.add_argument("--agents", type=int, default=2, help="agents in the embedded fleet")
    p.add_argument("--idle", type=int, default=10, help="idle connections of the second setting")
    args = p.parse_args(argv)
    lib = Lib.start_local(agents=args.agents, coordinator_args=["--metrics-port", "0"])
    try:
        assert lib.fleet is not None
        url = lib.fleet.metrics_url
        where = urllib.parse.urlsplit(url)
        assert where.hostname is not None and where.port is not None
        rows = []
        ms, wall = time_status(lib, args.count)
        rows.append(row("quiet", ms, wall))
        with idle_connections(where.hostname, where.port, args.idle) as reopened:
            ms, wall = time_status(lib, args.count)
        rows.append(row(f"{args.idle} idle", ms, wall, f"idle connections closed by the server "
                                                      f"and reopened: {reopened[0]}"))
        with hammering(url) as rate:
            ms, wall = time_status(lib, args.count)
        rows.append(row("hammered", ms, wall, f"scraper: {rate[0]:.0f} scrapes/s"))
    finally:
        lib.destroy()
    print(f"lib.status with /metrics scrapers: {args.agents} agents, Python "
          f"{platform.python_version()}, {platform.machine()}; one request in flight at a time")
    print(f"{'setting':<12}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>10}{'req/s':>9}")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
