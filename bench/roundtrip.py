"""Command round-trip latency through the coordinator. A benchmark: it prints figures, asserts nothing.

Starts an embedded fleet (a coordinator and ``--agents`` agents as child processes), then times,
one request in flight at a time:

* ``lib.status``: client -> coordinator -> client (the coordinator answers alone);
* ``acc.create``: client -> coordinator -> agent (pjsua2 creates the account) -> coordinator ->
  client;
* ``acc.delete``: the coordinator forwards it to the agent and replies at once, so this is a
  coordinator-only round trip too;
* the ``acc.create`` + ``acc.delete`` pair, as one unit;
* ``acc.create`` on an idle agent: ``--idle-count`` of them, each after ``--idle-gap`` seconds
  of quiet, so that each finds the agent asleep (an idle agent sleeps in PJSIP's poll until a
  command wakes it: agent.waker).

    python bench/roundtrip.py [--count 2000] [--agents 2] [--curve]

``--curve``: the coordinator, the agents and the client use CURVE keys (``Lib.start_local(curve=True)``),
to compare with the plain round trip.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from collections.abc import Callable, Sequence

from coordinator.client import Lib

#: requests sent before timing starts (connections, caches, the agents' adaptive poll)
WARMUP = 50


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def row(name: str, samples_s: Sequence[float], wall_s: float) -> str:
    ms = sorted(s * 1000.0 for s in samples_s)
    rate = len(ms) / wall_s if wall_s > 0 else math.nan
    return (f"{name:<24}{len(ms):>7}{percentile(ms, 50):>9.3f}{percentile(ms, 90):>9.3f}"
            f"{percentile(ms, 99):>9.3f}{ms[-1] if ms else math.nan:>9.3f}{rate:>10.0f}")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_status(lib: Lib, n: int) -> tuple[list[float], float]:
    for _ in range(WARMUP):
        lib.request("lib.status")
    t0 = time.perf_counter()
    samples = [timed(lambda: lib.request("lib.status")) for _ in range(n)]
    return samples, time.perf_counter() - t0


def bench_accounts(lib: Lib, n: int) -> tuple[list[float], list[float], list[float], float]:
    """(acc.create samples, acc.delete samples, pair samples, wall time of all pairs)."""
    for i in range(min(WARMUP, n)):
        lib.create_account(f"sip:warm{i}@127.0.0.1").delete()
    creates: list[float] = []
    deletes: list[float] = []
    pairs: list[float] = []
    t0 = time.perf_counter()
    for i in range(n):
        c0 = time.perf_counter()
        acc = lib.create_account(f"sip:rt{i}@127.0.0.1")
        c1 = time.perf_counter()
        acc.delete()
        c2 = time.perf_counter()
        creates.append(c1 - c0)
        deletes.append(c2 - c1)
        pairs.append(c2 - c0)
    return creates, deletes, pairs, time.perf_counter() - t0


def bench_idle(lib: Lib, n: int, gap_s: float) -> tuple[list[float], float]:
    """acc.create samples, each after ``gap_s`` of quiet (its acc.delete goes after the
    timing), and the agents' loop turns a second while quiet (their ``wakeups``)."""
    samples: list[float] = []
    turns0, t0 = sum(a.get("wakeups", 0) for a in lib.agents()), time.perf_counter()
    quiet = 0.0
    for i in range(n):
        time.sleep(gap_s)
        quiet += gap_s
        c0 = time.perf_counter()
        acc = lib.create_account(f"sip:idle{i}@127.0.0.1")
        samples.append(time.perf_counter() - c0)
        acc.delete()
    turns = sum(a.get("wakeups", 0) for a in lib.agents()) - turns0
    return samples, turns / (time.perf_counter() - t0) / max(1, len(lib.agents()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--count", type=int, default=2000, help="lib.status requests (default %(default)s); "
                   "a tenth as many acc.create + acc.delete pairs")
    p.add_argument("--agents", type=int, default=2, help="agents in the embedded fleet")
    p.add_argument("--curve", action="store_true", help="every connection with CURVE keys")
    p.add_argument("--idle-count", type=int, default=40, help="acc.create requests to idle "
                   "agents (default %(default)s; 0: none)")
    p.add_argument("--idle-gap", type=float, default=0.25, help="seconds of quiet before each "
                   "(default %(default)s)")
    args = p.parse_args(argv)
    if args.count < 10:
        p.error("--count must be at least 10")
    pairs_n = args.count // 10

    t_start = time.perf_counter()
    lib = Lib.start_local(agents=args.agents, curve=args.curve)
    try:
        started = time.perf_counter() - t_start
        version = lib.status()["version"]
        status, status_wall = bench_status(lib, args.count)
        creates, deletes, pairs, pairs_wall = bench_accounts(lib, pairs_n)
        idle, turns_s = bench_idle(lib, args.idle_count, args.idle_gap) if args.idle_count \
            else ([], 0.0)
        leftover = lib.status()
    finally:
        lib.destroy()

    print(f"callfleet round trip: {args.agents} agents, protocol v{version}, "
          f"{'CURVE' if args.curve else 'plain'} connections, "
          f"Python {platform.python_version()}, {platform.machine()}; fleet started in "
          f"{started:.2f} s; one request in flight at a time")
    print(f"{'op':<24}{'n':>7}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'req/s':>10}")
    print(row("lib.status", status, status_wall))
    print(row("acc.create", creates, pairs_wall))
    print(row("acc.delete", deletes, pairs_wall))
    print(row("acc.create+acc.delete", pairs, pairs_wall))
    if idle:
        print(row("acc.create, idle agent", idle, sum(idle) + args.idle_gap * len(idle)))
    print("lib.status and acc.delete: coordinator only (acc.delete replies before the agent acts); "
          "acc.create: coordinator + agent. req/s of the acc rows: pairs per second.")
    if idle:
        print(f"idle agent: each acc.create after {args.idle_gap} s of quiet; the agents' loops "
              f"turned {turns_s:.1f} times a second meanwhile (agent wakeups)")
    if leftover["accounts"]:
        print(f"note: {leftover['accounts']} accounts were still held at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
