"""One client floods the coordinator; how long does another client wait? A benchmark: it prints
figures, asserts nothing.

Starts an embedded fleet, then times a second client's ``lib.status`` round trips (one in flight
at a time) while a first client, a raw DEALER, keeps ``--window`` requests in flight as fast as
the coordinator answers them, for each kind of flood:

* ``idle``: no flood (the baseline);
* ``routed``: ``lib.enum_codecs`` (the coordinator forwards each to an agent);
* ``bad-args``: ``call.hangup`` with a wrong argument type (refused by the coordinator);
* ``not-found``: ``call.info`` of a call that does not exist (refused by the coordinator).

It prints the second client's p50/p99/max and the flood's own rate and E_BUSY refusals (the
flooder's budget: ``coordinator/fairness.py``), and the coordinator's RSS before, at its peak
and after the floods (``coordinator/memory.py`` gives back what a flood left).

    python bench/fairness.py [--seconds 10] [--window 2000] [--agents 2]
"""

from __future__ import annotations

import argparse
import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Sequence

import msgpack
import zmq

from coordinator.client import Lib

FLOODS = {
    "routed": ("lib.enum_codecs", {}),
    "bad-args": ("call.hangup", {"call": 5}),
    "not-found": ("call.info", {"call": "no-such-call"}),
}


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


class Flood(threading.Thread):
    """A raw client keeping ``window`` requests of one kind in flight until stopped."""

    def __init__(self, url: str, op: str, args: dict[str, object], window: int) -> None:
        super().__init__(daemon=True)
        self.url, self.op, self.args, self.window = url, op, args, window
        self.stop = threading.Event()
        self.replies: Counter[str] = Counter()

    def run(self) -> None:
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        sock = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.url)
        ids = itertools.count()
        flying = 0
        while not self.stop.is_set():
            while flying < self.window:
                sock.send(msgpack.packb({"v": 1, "kind": "req", "id": f"f{next(ids)}",
                                         "op": self.op, "args": self.args}))
                flying += 1
            if sock.poll(50):
                while True:
                    try:
                        rep = msgpack.unpackb(sock.recv(zmq.NOBLOCK), raw=False)
                    except zmq.Again:
                        break
                    if rep.get("kind") == "rep":
                        flying -= 1
                        self.replies["ok" if rep.get("ok") else rep["error"]["code"]] += 1
        sock.close(0)
        ctx.term()


def victim(lib: Lib, seconds: float) -> list[float]:
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        lib.request("lib.status")
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per flood")
    p.add_argument("--window", type=int, default=2000, help="requests the flooder keeps in flight")
    p.add_argument("--agents", type=int, default=2)
    args = p.parse_args()
    lib = Lib.start_local(agents=args.agents)
    try:
        assert lib.fleet is not None and lib.fleet.coordinator is not None
        co = lib.fleet.coordinator.pid
        victim(lib, 1.0)  # warm up
        rss0, peak = rss_mb(co), 0.0
        print(f"second client's lib.status round trip, ms, while the first floods "
              f"({args.window} in flight, {args.seconds:g} s each)")
        print(f"{'flood':<11}{'p50':>8}{'p99':>8}{'max':>8}{'n':>8}  {'flood rate/s':>12}  replies")
        for name, (op, fargs) in [("idle", ("", {})), *FLOODS.items()]:
            flood = Flood(lib.url, op, fargs, args.window) if op else None
            if flood is not None:
                flood.start()
                time.sleep(0.5)  # the flood at full speed first
            samples = victim(lib, args.seconds)
            peak = max(peak, rss_mb(co))
            rate = ""
            if flood is not None:
                flood.stop.set()
                flood.join(10)
                rate = f"{sum(flood.replies.values()) / (args.seconds + 0.5):.0f}"
            print(f"{name:<11}{percentile(samples, 50):>8.2f}{percentile(samples, 99):>8.2f}"
                  f"{max(samples):>8.2f}{len(samples):>8}  {rate:>12}  "
                  f"{dict(flood.replies) if flood else ''}")
        time.sleep(12)  # the coordinator gives back free memory every 10 s
        print(f"coordinator RSS: {rss0:.0f} MB before, {peak:.0f} MB at the floods' peak, "
              f"{rss_mb(co):.0f} MB after; E_BUSY refusals: {lib.status().get('busy_refused')}")
    finally:
        lib.destroy()


if __name__ == "__main__":
    main()
