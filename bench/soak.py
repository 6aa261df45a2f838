"""Soak: calls at 80% of the fleet's capacity for a while, a random agent SIGKILLed every N
seconds and replaced under the same name (as supervisord does). Prints what happened to every
call and how the processes' memory and descriptors grew. Not run in CI.

    python bench/soak.py [--agents 4] [--duration 600] [--kill-every 20] [--hold 1:4] [--sip-port-base P]

Every call the client made (and every incoming leg it was told of) must end with exactly one
terminal event: ``unaccounted`` (no terminal event) and ``duplicates`` (more than one) must be 0;
the exit status is 1 otherwise. Calls a killed agent held are ``reported lost`` (worker_lost).
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coordinator.client import Account, AccountCallback, Call, CallCallback, Error, Lib  # noqa: E402


@dataclass
class Leg:
    call: Call
    role: str
    hangup_at: float = 0.0
    confirmed: bool = False
    hung_up: bool = False
    end: str = ""  # outcome once DISCONNECTED


@dataclass
class Book:
    """Every leg the client knows of, and the tallies; guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    legs: dict[str, Leg] = field(default_factory=dict)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    attempted: int = 0
    moved: int = 0


class Track(CallCallback):
    """Records a leg's outcome. Its events may come before make_call() returns: the leg is
    entered by whichever comes first."""

    def __init__(self, book: Book, role: str, hangup_at: float = 0.0) -> None:
        super().__init__()
        self.book, self.role, self.hangup_at = book, role, hangup_at

    def on_state(self) -> None:
        assert self.call is not None
        info = self.call.info()
        with self.book.lock:
            leg = self.book.legs.setdefault(self.call.id, Leg(self.call, self.role, self.hangup_at))
            if info.state == "CONFIRMED":
                leg.confirmed = True
            elif info.state == "DISCONNECTED":
                if info.last_reason == "worker_lost":
                    leg.end = "lost"
                elif leg.hung_up or leg.role == "callee":
                    leg.end = "completed" if leg.confirmed else "not answered"
                else:
                    leg.end = f"failed {info.last_code}"


class Callee(AccountCallback):
    def __init__(self, book: Book) -> None:
        super().__init__()
        self.book = book

    def on_incoming_call(self, call: Call) -> None:
        with self.book.lock:
            self.book.legs.setdefault(call.id, Leg(call, "callee"))
        call.set_callback(Track(self.book, "callee"))

    def on_moved(self) -> None:
        with self.book.lock:
            self.book.moved += 1


class Tap:
    """A raw connection subscribed to every call.state: counts terminal events per call id."""

    def __init__(self, url: str) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(url)
        # a long lease: the tap only listens, it would not renew the default one
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": "tap-lease",
                                      "op": "client.lease", "args": {"lease": 3600.0}}))
        self.sock.send(msgpack.packb({"v": 1, "kind": "req", "id": "tap", "op": "events.subscribe",
                                      "args": {"include": {"events": ["call.state"]},
                                               "snapshot": False}}))
        for _ in range(2):  # the two replies (the subscription's comes before its events)
            assert self.sock.poll(10000), "no reply to client.lease or events.subscribe"
            self.sock.recv()
        self.terminal: collections.Counter[str] = collections.Counter()

    def drain(self) -> None:
        while self.sock.poll(0):
            msg: dict[str, Any] = msgpack.unpackb(self.sock.recv(), raw=False)
            if msg.get("kind") == "evt" and msg["data"].get("state") == "DISCONNECTED":
                self.terminal[msg["obj"]] += 1

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


def _proc(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


def usage(pid: int) -> tuple[float, int]:
    """(RSS in MB, open descriptors) of a process."""
    return _proc(pid, "VmRSS:") / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=4)
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    p.add_argument("--kill-every", type=float, default=20.0, help="seconds between kills")
    p.add_argument("--hold", default="1:4", help="call hold time, uniform between A:B seconds")
    p.add_argument("--load", type=float, default=0.8, help="share of the call slots kept busy")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sip-port-base", type=int, default=0,
                   help="give agent k SIP port P+k, and its replacement the same port (as deploy/ "
                        "does): a BYE to a killed agent then gets a 481 from its replacement "
                        "instead of holding the sender's call slot for 32 s; 0: any free port")
    args = p.parse_args()
    rng = random.Random(args.seed)
    lo, hi = (float(x) for x in args.hold.split(":"))
    lib = Lib.start_local(agents=0 if args.sip_port_base else args.agents)
    fleet = lib.fleet
    assert fleet is not None and fleet.coordinator is not None

    def start_agent(name: str, index: int) -> subprocess.Popen[bytes]:
        assert fleet is not None
        if not args.sip_port_base:
            return fleet.add_agent(name)
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "--coordinator", fleet.agents_url, "--name", name,
             "--sip-host", fleet.host, "--sip-port", str(args.sip_port_base + index)],
            stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        fleet.agents.append(proc)
        return proc

    if args.sip_port_base:
        for i in range(args.agents):
            start_agent(f"{fleet.tag}-{i + 1}", i + 1)
        lib.wait_agents(args.agents, 30)
    book = Book()
    tap = Tap(lib.url)
    names = [f"{fleet.tag}-{i + 1}" for i in range(len(fleet.agents))]  # fleet.agents' order
    callers: list[Account] = []
    callees: list[Account] = []
    for i, _ in enumerate(names):
        callees.append(lib.create_account(f"sip:callee{i}@127.0.0.1", cb=Callee(book),
                                          auto_answer=200))
    for i, _ in enumerate(names):
        callers.append(lib.create_account(f"sip:caller{i}@127.0.0.1", cb=Callee(book)))
    # a call takes two slots (its two legs)
    target = max(1, int(args.load * len(names) * 4 / 2))
    co_pid = fleet.coordinator.pid
    start = {"coordinator": usage(co_pid), "client": usage(os.getpid())}
    agents_start = {n: usage(pr.pid) for n, pr in zip(names, fleet.agents, strict=True)}
    procs = dict(zip(names, fleet.agents, strict=True))
    kills = 0
    rate = target / ((lo + hi) / 2)
    t0 = time.monotonic()
    next_kill = t0 + args.kill_every
    print(f"soak: {len(names)} agents, {target} calls up at once ({rate:.1f}/s), hold {args.hold} s, "
          f"a kill every {args.kill_every:g} s, for {args.duration:g} s", flush=True)
    last_print = t0
    while (now := time.monotonic()) < t0 + args.duration:
        tap.drain()
        with book.lock:
            up = [leg for leg in book.legs.values() if leg.role == "caller" and not leg.end]
            due = [leg for leg in up if not leg.hung_up and now >= leg.hangup_at]
            # a callee leg whose caller's agent was lost stays up (no BYE comes): end it too
            ended = {leg.call.info().sip_call_id for leg in book.legs.values()
                     if leg.role == "caller" and leg.end}
            due += [leg for leg in book.legs.values() if leg.role == "callee" and not leg.end
                    and not leg.hung_up and leg.call.info().sip_call_id in ended]
        for leg in due:
            leg.hung_up = True
            try:
                leg.call.hangup()
            except Error:
                pass  # ended meanwhile (its agent was lost): its event says so
        # at the rate that keeps `target` calls up (Little's law), never more than `target`, each
        # between two agents with a free slot (as the coordinator counts them)
        free = {a["name"]: a["free"] for a in lib.agents() if a["state"] == "ready"}
        for _ in range(min(target - len(up), int(rate * (now - t0)) - book.attempted)):
            srcs = [a for a in callers if free.get(a.agent, 0) > 0]
            if not srcs:
                break
            src = rng.choice(srcs)
            free[src.agent] -= 1
            dsts = [a for a in callees if free.get(a.agent, 0) > 0 and a.agent != src.agent]
            if not dsts:
                break
            dst = rng.choice(dsts)
            free[dst.agent] -= 1
            with book.lock:
                book.attempted += 1
            hangup_at = now + rng.uniform(lo, hi)
            try:
                call = src.make_call(dst.contact, cb=Track(book, "caller", hangup_at))
            except Error as exc:
                with book.lock:
                    book.refused[exc.err_code] += 1
                continue
            with book.lock:
                book.legs.setdefault(call.id, Leg(call, "caller", hangup_at))
        if now >= next_kill:
            next_kill = now + args.kill_every
            victim = rng.choice(names)
            procs[victim].send_signal(signal.SIGKILL)
            procs[victim].wait(10)
            kills += 1
            # the replacement (supervisord's job)
            procs[victim] = start_agent(victim, names.index(victim) + 1)
        if now - last_print >= 30:
            last_print = now
            with book.lock:
                ends = collections.Counter(leg.end or "up" for leg in book.legs.values())
            print(f"  {now - t0:5.0f}s attempted {book.attempted} kills {kills} {dict(ends)}",
                  flush=True)
        time.sleep(0.05)

    # drain: hang up what is left and wait for every terminal event
    with book.lock:
        left = [leg for leg in book.legs.values() if not leg.end]
    for leg in left:
        leg.hung_up = True
        try:
            leg.call.hangup()
        except Error:
            pass
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        tap.drain()
        with book.lock:
            if all(leg.end for leg in book.legs.values()):
                break
        time.sleep(0.1)
    time.sleep(0.5)
    tap.drain()
    end = {"coordinator": usage(co_pid), "client": usage(os.getpid())}
    survivors = {n: usage(pr.pid) for n, pr in procs.items() if pr in fleet.agents[:len(names)]}
    with book.lock:
        legs = list(book.legs.items())
    outcomes = collections.Counter(f"{leg.role} {leg.end or 'UNACCOUNTED'}" for _, leg in legs)
    unaccounted = sum(1 for _, leg in legs if not leg.end)
    duplicates = sum(1 for gid, _ in legs if tap.terminal[gid] > 1)
    missing_evt = sum(1 for gid, leg in legs if leg.end and tap.terminal[gid] == 0)
    caller_legs = [leg for _, leg in legs if leg.role == "caller"]
    print(f"elapsed {time.monotonic() - t0:.0f}s, agents killed and replaced: {kills}, "
          f"accounts moved: {book.moved}")
    print(f"calls attempted {book.attempted}: refused at once {sum(book.refused.values())} "
          f"{dict(book.refused)}, placed {len(caller_legs)}")
    print(f"  completed {sum(leg.end == 'completed' for leg in caller_legs)}, "
          f"reported lost {sum(leg.end == 'lost' for leg in caller_legs)}, "
          f"other ends {sum(leg.end not in ('', 'completed', 'lost') for leg in caller_legs)}, "
          f"unaccounted {sum(not leg.end for leg in caller_legs)}")
    print(f"every leg (caller and callee): {dict(sorted(outcomes.items()))}")
    print(f"unaccounted {unaccounted}, duplicate terminal events {duplicates}, "
          f"terminal events not seen by the subscription {missing_evt}")
    for who in ("coordinator", "client"):
        (r0, f0), (r1, f1) = start[who], end[who]
        print(f"{who}: RSS {r0:.1f} -> {r1:.1f} MB ({r1 - r0:+.1f}), fds {f0} -> {f1} ({f1 - f0:+d})")
    for n, (r1, f1) in sorted(survivors.items()):
        r0, f0 = agents_start[n]
        print(f"agent {n} (never killed): RSS {r0:.1f} -> {r1:.1f} MB ({r1 - r0:+.1f}), "
              f"fds {f0} -> {f1} ({f1 - f0:+d})")
    tap.close()
    lib.destroy()
    bad = {k: v for k, v in lib.exit_codes.items() if v not in (0, -signal.SIGKILL)}
    print(f"exit codes: {lib.exit_codes}")
    return 0 if unaccounted == 0 and duplicates == 0 and not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
