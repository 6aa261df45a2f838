"""Client crashes while calls go on: does the fleet get everything back? A benchmark: it prints
figures, asserts nothing.

Starts an embedded fleet with an answering account on each agent, and a main client that keeps
placing calls (alice calls one of them; one call at a time, held ``--hold`` s). Meanwhile
``--clients`` client processes (at most ``--parallel`` holding objects at once, alive or dead
within their lease), each connect with a ``--lease``
s lease, make an account, a call to an answering account (answered), a buddy, a tone generator
and an event subscription, and are SIGKILLed as soon as they hold all that. Their objects must
go a lease after their last word.

It prints the crashes per second, the main client's calls (made, failed), the objects left once
every lease has run out (accounts, calls, media objects and subscriptions beyond the main
client's: must be 0), the fleet's free call slots and account room before and after, the
client.expired count, and the coordinator's RSS before, at its peak and after.

    python bench/client_churn.py [--clients 1000] [--parallel 8] [--lease 1] [--agents 8]
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import multiprocessing.connection
import threading
import time
from typing import Any

from coordinator.client import Call, CallCallback, Error, Lib


class Ended(CallCallback):
    """Sets ``up`` at CONFIRMED and ``down`` at DISCONNECTED."""

    def __init__(self) -> None:
        super().__init__()
        self.up, self.down = threading.Event(), threading.Event()

    def on_state(self) -> None:
        assert self.call is not None
        state = self.call.info().state
        if state == "CONFIRMED":
            self.up.set()
        elif state == "DISCONNECTED":
            self.up.set()
            self.down.set()


def crashing_client(url: str, lease: float, target: str,
                    ready: multiprocessing.connection.Connection) -> None:
    """One client process: it makes its objects, says so, and waits for its SIGKILL."""
    lib = Lib.connect(url, lease=lease, timeout=10)
    try:
        acc = lib.create_account("sip:churn@127.0.0.1")
        cb = Ended()
        acc.make_call(target, cb=cb)
        acc.add_buddy(target)
        lib.create_tone(440, agent=acc.agent)
        lib.request("events.subscribe", {"include": {"accounts": [acc.id]}, "snapshot": False})
        ready.send(cb.up.wait(10) and not cb.down.is_set())
    except Error:
        ready.send(False)  # (what it made so far goes with its lease all the same)
    threading.Event().wait()


class MainCalls(threading.Thread):
    """alice calls bob, holds, hangs up, again, until stopped; counts calls made and failed."""

    def __init__(self, lib: Lib, target: str, hold: float) -> None:
        super().__init__(daemon=True)
        self.alice = lib.create_account("sip:alice@127.0.0.1")
        self.target, self.hold = target, hold
        self.stop = threading.Event()
        self.made = self.failed = 0

    def run(self) -> None:
        while not self.stop.is_set():
            cb = Ended()
            try:
                call: Call = self.alice.make_call(self.target, cb=cb)
            except Exception:
                self.failed += 1
                self.stop.wait(0.5)
                continue
            answered = cb.up.wait(10) and not cb.down.is_set()
            self.stop.wait(self.hold)
            if not cb.down.is_set():
                call.hangup()
            self.made += 1
            self.failed += not (answered and cb.down.wait(10))
            self.stop.wait(0.6)  # PJSIP frees a call slot a moment after DISCONNECTED


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def room(lib: Lib) -> tuple[int, int]:
    """The fleet's free call slots and account room."""
    agents = lib.agents()
    return (sum(a["free"] for a in agents),
            sum(a["max_accounts"] - a["accounts"] for a in agents))


def churn(ctx: Any, lib: Lib, args: argparse.Namespace, targets: list[str],
          pid: int) -> dict[str, Any]:
    """Start, wait for, and kill ``args.clients`` client processes: at most ``args.parallel``
    hold objects at once, alive or killed and within their lease (a lease and a half)."""
    peak, started, killed, unready, shown = 0.0, 0, 0, 0, 0
    alive: list[tuple[Any, multiprocessing.connection.Connection]] = []
    dying: collections.deque[float] = collections.deque()
    t0 = time.monotonic()
    while killed < args.clients:
        while dying and time.monotonic() - dying[0] > args.lease * 1.5:
            dying.popleft()
        while started < args.clients and len(alive) + len(dying) < args.parallel:
            mine, theirs = ctx.Pipe(duplex=False)
            target = targets[started % len(targets)]
            proc = ctx.Process(target=crashing_client, args=(lib.url, args.lease, target, theirs))
            proc.start()
            theirs.close()
            alive.append((proc, mine))
            started += 1
        ready = multiprocessing.connection.wait([c for _, c in alive],
                                                timeout=30 if alive else 0.05)
        for proc, conn in [(p, c) for p, c in alive if c in ready or not p.is_alive()]:
            try:
                unready += not conn.recv()
            except EOFError:
                unready += 1  # it died before it held everything
            proc.kill()
            proc.join()
            conn.close()
            alive.remove((proc, conn))
            dying.append(time.monotonic())
            killed += 1
        peak = max(peak, rss_mb(pid))
        if killed // 100 > shown:
            shown = killed // 100
            print(f"  {killed} clients killed, coordinator RSS {rss_mb(pid):.1f} MB", flush=True)
    return {"seconds": time.monotonic() - t0, "unready": unready, "peak": peak}


def settle(lib: Lib, accounts: int, timeout: float) -> dict[str, int]:
    """Wait (at most ``timeout``) until only the main client's objects are left; what is left."""
    deadline = time.monotonic() + timeout
    while True:
        s = lib.status()
        left = {"accounts": s["accounts"] - accounts, "calls": s["calls"], "media": s["media"],
                "subscriptions": s["subscriptions"]}
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=1000, help="client processes to kill")
    p.add_argument("--parallel", type=int, default=8,
                   help="client processes holding objects at once (alive, or dead within their "
                   "lease)")
    p.add_argument("--lease", type=float, default=1.0, help="their lease, seconds")
    p.add_argument("--agents", type=int, default=8)
    p.add_argument("--hold", type=float, default=0.5, help="the main client's calls, seconds")
    args = p.parse_args()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["coordinator.client"])
    lib = Lib.start_local(agents=args.agents)
    try:
        assert lib.fleet is not None and lib.fleet.coordinator is not None
        pid = lib.fleet.coordinator.pid
        # one answering account per agent (placement spreads them): each takes calls there
        targets = [lib.create_account(f"sip:bob{n}@127.0.0.1", auto_answer=200).contact
                   for n in range(args.agents)]
        calls = MainCalls(lib, targets[0], args.hold)
        before = {"room": room(lib), "rss": rss_mb(pid),
                  "expired": lib.status()["clients_expired"]}
        calls.start()
        run = churn(ctx, lib, args, targets[1:] or targets, pid)
        calls.stop.set()
        calls.join(30)
        left = settle(lib, args.agents + 1, args.lease + 15)
        time.sleep(11)  # the coordinator gives free memory back every 10 s
        after = {"room": room(lib), "rss": rss_mb(pid),
                 "expired": lib.status()["clients_expired"]}
        report(args, run, calls, left, before, after)
    finally:
        lib.destroy()


def report(args: argparse.Namespace, run: dict[str, Any], calls: MainCalls,
           left: dict[str, int], before: dict[str, Any], after: dict[str, Any]) -> None:
    print(f"{args.clients} clients killed in {run['seconds']:.1f} s "
          f"({args.clients / run['seconds']:.1f}/s, {args.parallel} at once, lease "
          f"{args.lease:g} s, {args.agents} agents); {run['unready']} died before holding "
          "everything")
    print(f"main client's calls meanwhile: {calls.made} made, {calls.failed} failed")
    print(f"objects left: {sum(left.values())} ({', '.join(f'{v} {k}' for k, v in left.items())})")
    print(f"fleet free call slots / account room: before {before['room'][0]} / "
          f"{before['room'][1]}, after {after['room'][0]} / {after['room'][1]}")
    print(f"client.expired: {after['expired'] - before['expired']}")
    print(f"coordinator RSS: before {before['rss']:.1f} MB, peak {run['peak']:.1f} MB, after "
          f"{after['rss']:.1f} MB")


if __name__ == "__main__":
    main()
