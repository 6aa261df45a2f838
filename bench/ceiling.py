"""The ceiling of one coordinator on this machine. A benchmark: it prints figures, asserts nothing.

A real coordinator process (``callfleet coordinator``) on loopback, driven by this process:

* **requests**: clients keep requests in flight for a few seconds; replies per second, their
  latency and the coordinator's CPU. ``lib.status`` (the coordinator answers alone, 2 messages
  per request), ``call.info`` routed to the agent holding the call and back (4 messages), and
  the same request load against a pure-ZeroMQ ROUTER that echoes every frame (the ceiling of the
  sockets and of this driver, for the ratio); then ``call.state`` events streamed by the agent
  holding a call to the call's owner (2 messages each; the PUB firehose is off).
* **heartbeats**: fleets of fake agents (one DEALER each, speaking the real protocol: the
  ``agent.hello``, then a heartbeat a second in both directions: each answers the
  coordinator's, as real agents do) of growing size; the
  coordinator's CPU for keeping them, whether any was declared lost, and the latency of
  ``lib.agents`` meanwhile (a page of PAGE agents; and the whole list, page after page).
* **placement**: ``call.make`` kept in flight against fleets of fake agents that accept every
  call and end it at once (a reply and a DISCONNECTED event): calls placed per second, that is
  6 messages through the coordinator each (request, forward, agent reply, client reply, event
  in, event out).

Fake agents are DEALERs of this process, not pjsua2 processes: the coordinator cannot tell,
and this process does their work on the other core. They report 64 call slots so that placement
measures the coordinator, not slot exhaustion. For the call rate of real agents, see
bench/cps.py.

    python bench/ceiling.py [--seconds 3] [--fleets 100,500,1000,2000] [--steps placement]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import msgpack
import zmq

import proto
from proto.hist import Histogram

Ctx = zmq.Context[zmq.Socket[bytes]]
Sock = zmq.Socket[bytes]

#: requests each client keeps in flight
WINDOW = 32
#: events sent and not yet received, at most
EVENTS_AHEAD = 1000
#: what a fake agent says it can hold (the protocol's most)
FAKE_CAPACITY = 64
CALL_INFO = {"state": "CONFIRMED", "role": "caller", "remote_uri": "sip:b@127.0.0.1",
             "local_uri": "sip:a@127.0.0.1", "call_id": "x@127.0.0.1", "code": 200,
             "reason": "OK", "connect_s": 1.0, "total_s": 1.0, "media": "ACTIVE",
             "codec": "PCMU/8000"}
TICK = os.sysconf("SC_CLK_TCK")


def _histogram(lo: float, hi: float, n: int) -> dict[str, object]:
    h = Histogram()
    for i in range(n):
        h.record(lo + (hi - lo) * i / n)
    return h.to_wire()


#: one second of a real agent's load.stats at ~20 calls/s, with media
STATS: dict[str, Any] = {
    "started": 20, "answered": 20, "delayed": 0, "incoming": 20, "failed": {"486": 1},
    "active": 4, "setup": _histogram(1_000, 40_000, 20), "duration": _histogram(9e5, 1.1e6, 20),
    "media": {"calls": 20, "rx": 1000, "lost": 1, "loss_pm": _histogram(0, 20, 20),
              "jitter": _histogram(200, 3_000, 20), "mos": _histogram(4_200, 4_400, 20)},
    "dtmf_ok": 20, "dtmf_missed": 0}


def pack_req(op: str, args: dict[str, Any], rid: str) -> bytes:
    """A request frame, packed directly (the driver must cost less than what it measures)."""
    frame: bytes = msgpack.packb({"v": 1, "kind": "req", "id": rid, "op": op, "args": args})
    return frame


def peek(frame: bytes) -> tuple[str, str, bool]:
    """(kind, id, ok) of a frame, without proto's validation."""
    m = msgpack.unpackb(frame, raw=False)
    return str(m.get("kind")), str(m.get("id")), bool(m.get("ok", True))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


class Process:
    """A child process that prints ``READY {endpoints}`` once bound; stopped by SIGTERM."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"{argv[:4]} did not start")
        self.endpoints: dict[str, str] = json.loads(line[6:])

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def start_coordinator() -> Process:
    return Process([sys.executable, "-m", "coordinator.cli", "coordinator", "--agents-bind",
                    "tcp://127.0.0.1:*", "--clients-bind", "tcp://127.0.0.1:*",
                    "--events-bind", "", "--ready", "--adopt-window", "0"])


def start_echo() -> Process:
    return Process([sys.executable, __file__, "--echo-router"])


def echo_router() -> int:
    """The baseline: a ROUTER that sends every message back as it came, nothing decoded."""
    ctx: Ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 100000)
    sock.setsockopt(zmq.RCVHWM, 100000)
    sock.bind("tcp://127.0.0.1:*")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY " + json.dumps({"clients": sock.getsockopt_string(zmq.LAST_ENDPOINT)}), flush=True)
    try:
        while True:
            sock.send_multipart(sock.recv_multipart())
    finally:
        sock.close(0)
        ctx.term()


#: agents in the lib.agents page the heartbeat step times (as a dashboard's table might show)
PAGE = 250


# -- fake agents ----------------------------------------------------------------------------
@dataclass
class FakeAgent:
    name: str
    sock: Sock
    phase: float
    admitted: bool = False
    next_beat: float = 0.0
    last_beat: float = -10.0
    run: str = ""
    #: reports no free socket: the coordinator places nothing on it
    full: bool = False


@dataclass
class FakeFleet:
    """Fake agents on one coordinator: hello, heartbeats, and instant answers to what the
    coordinator asks (acc.create, acc.delete, call.hangup: ok; call.make: ok, then at once a
    DISCONNECTED event unless ``hold``; call.info: a canned CONFIRMED call)."""

    ctx: Ctx
    url: str
    hold: bool = False
    agents: list[FakeAgent] = field(default_factory=list)
    by_sock: dict[Sock, FakeAgent] = field(default_factory=dict)
    poller: zmq.Poller = field(default_factory=zmq.Poller)
    ids: Iterator[int] = field(default_factory=itertools.count)

    def add(self, n: int, prefix: str = "fake") -> None:
        start = len(self.agents)
        for i in range(start, start + n):
            sock = self.ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.ROUTING_ID, f"{prefix}-{i}/{os.getpid()}".encode())
            sock.connect(self.url)
            agent = FakeAgent(f"{prefix}-{i:05d}", sock, phase=(i % 997) / 997)
            self.agents.append(agent)
            self.by_sock[sock] = agent
            self.poller.register(sock, zmq.POLLIN)
            self._hello(agent)

    def _hello(self, agent: FakeAgent) -> None:
        agent.sock.send(proto.encode(proto.req("agent.hello", {
            "name": agent.name, "host": "bench", "pid": os.getpid(),
            "sip": [f"udp:127.0.0.1:{10000 + len(self.by_sock) % 50000}"],
            "capacity": FAKE_CAPACITY, "max_accounts": 8, "pjsip": "fake", "calls": 0},
            f"hello-{next(self.ids)}")))

    def admitted(self) -> int:
        return sum(a.admitted for a in self.agents)

    def beat(self, now: float) -> None:
        """A heartbeat from each agent once a second, spread over the second, and its load.stats
        while it takes part in a load run."""
        for agent in self.agents:
            if now >= agent.next_beat:
                self._beat(agent, now)

    def _beat(self, agent: FakeAgent, now: float) -> None:
        """One heartbeat (and load.stats in a run); the next when the coordinator's comes, or
        alone 1.5 s on, as a real agent (agent.loop.BEAT_ALONE_S)."""
        agent.next_beat = now + 1.5 + agent.phase / 10
        agent.last_beat = now
        agent.sock.send(proto.encode(proto.hb({
            "calls": 0, "capacity": FAKE_CAPACITY, "max_accounts": 8,
            "sockets_free": 0 if agent.full else 2 * FAKE_CAPACITY,
            "accounts": 0})), zmq.NOBLOCK)
        if agent.run:
            self._stats(agent, done=False)

    def _stats(self, agent: FakeAgent, done: bool) -> None:
        """What a real agent reports each second of a run at ~20 calls/s (histograms filled)."""
        data = dict(STATS, agent=agent.name, caller_done=done, done=done)
        agent.sock.send(msgpack.packb({"v": 1, "kind": "evt", "id": "", "op": "load.stats",
                                       "obj": agent.run, "seq": next(self.ids), "ts": time.time(),
                                       "data": data}), zmq.NOBLOCK)

    def serve(self, timeout_ms: int = 0) -> None:
        for sock, _ in self.poller.poll(timeout_ms):
            agent = self.by_sock[sock]
            for _ in range(1000):
                try:
                    self._answer(agent, proto.decode(sock.recv(zmq.NOBLOCK)))
                except zmq.Again:
                    break

    def _answer(self, agent: FakeAgent, msg: proto.Message) -> None:
        if msg.kind == "rep" and msg.op == "agent.hello":
            agent.admitted = bool(msg.ok)
        elif msg.kind == "hb" and msg.data.get("known") is False:
            agent.admitted = False
            self._hello(agent)
        elif msg.kind == "hb" and (now := time.monotonic()) - agent.last_beat >= 0.5:
            self._beat(agent, now)  # answers the coordinator's, as a real agent
        elif msg.kind == "req":
            result = CALL_INFO if msg.op == "call.info" else {}
            if msg.op == "load.agent_start":
                agent.run = msg.args["run"]
                result = {"run": agent.run}
            agent.sock.send(proto.encode(proto.ok(msg, result)), zmq.NOBLOCK)
            if msg.op == "load.agent_end" and agent.run:
                self._stats(agent, done=True)
                agent.run = ""
            if msg.op == "call.make" and not self.hold:
                agent.sock.send(proto.encode(proto.evt("call.state", msg.args["call"], 1, {
                    "state": "DISCONNECTED", "code": 200, "reason": "OK",
                    "remote_uri": msg.args["uri"], "call_id": "", "role": "caller",
                    "agent": agent.name})), zmq.NOBLOCK)

    def close(self) -> None:
        for agent in self.agents:
            agent.sock.close(0)


# -- clients --------------------------------------------------------------------------------
@dataclass
class Result:
    replies: int
    errors: int
    seconds: float
    cpu_pct: float
    latency_ms: list[float]

    @property
    def rate(self) -> float:
        return self.replies / self.seconds

    def row(self, name: str, per_op: int) -> str:
        at_core = self.rate * 100 / self.cpu_pct if self.cpu_pct > 0 else math.nan
        lat = (f"{percentile(self.latency_ms, 50):>9.2f}{percentile(self.latency_ms, 99):>9.2f}"
               if self.latency_ms else f"{'-':>9}{'-':>9}")
        return (f"  {name:<34}{self.rate:>9.0f}{self.rate * per_op:>10.0f}{lat}"
                f"{self.cpu_pct:>8.0f}%{at_core:>11.0f}"
                + (f"  errors {self.errors}" if self.errors else ""))


def client(ctx: Ctx, url: str) -> Sock:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 100000)
    sock.setsockopt(zmq.RCVHWM, 100000)
    sock.connect(url)
    return sock


def request(sock: Sock, op: str, args: dict[str, Any], rid: str, fleet: FakeFleet | None,
            timeout: float = 10.0) -> proto.Message:
    """One request and its reply (events meanwhile are skipped), the fleet served meanwhile."""
    sock.send(proto.encode(proto.req(op, args, rid)))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fleet is not None:
            fleet.serve(1)
        if sock.poll(0 if fleet is not None else 100):
            msg = proto.decode(sock.recv())
            if msg.kind == "rep" and msg.id == rid:
                if not msg.ok:
                    raise RuntimeError(f"{op}: {msg.error}")
                return msg
    raise RuntimeError(f"{op}: no reply in {timeout:g} s")


def hammer(server: Process, socks: list[Sock], make: Callable[[int, str], bytes],
           seconds: float, fleet: FakeFleet | None = None) -> Result:
    """Keep WINDOW requests in flight on each client socket for ``seconds``; count replies."""
    poller = zmq.Poller()
    sent: dict[str, float] = {}
    for sock in socks:
        poller.register(sock, zmq.POLLIN)
    counter = itertools.count()

    def send(k: int) -> None:
        rid = f"b{next(counter)}"
        sent[rid] = time.perf_counter()
        socks[k].send(make(k, rid), zmq.NOBLOCK)

    for k in range(len(socks)):
        for _ in range(WINDOW):
            send(k)
    replies = errors = 0
    latency: list[float] = []
    cpu0, t0 = server.cpu(), time.perf_counter()
    end = t0 + seconds
    next_beat = t0
    index = {sock: k for k, sock in enumerate(socks)}
    while True:
        now = time.perf_counter()
        if now >= end:
            break
        if fleet is not None:
            if now >= next_beat:  # heartbeats are due once a second: look every 20 ms
                next_beat = now + 0.02
                fleet.beat(time.monotonic())
            fleet.serve(0)
        for sock, _ in poller.poll(1):
            k = index[sock]
            for _ in range(WINDOW):
                try:
                    kind, rid, ok = peek(sock.recv(zmq.NOBLOCK))
                except zmq.Again:
                    break
                if kind not in ("rep", "req"):  # events of the calls: not replies
                    continue
                t = sent.pop(rid, None)
                if t is None:
                    continue
                replies += 1
                errors += not ok
                latency.append((time.perf_counter() - t) * 1000)
                send(k)
    wall = time.perf_counter() - t0
    cpu_pct = 100 * (server.cpu() - cpu0) / wall
    drain_until = time.monotonic() + 2
    while sent and time.monotonic() < drain_until:  # let the requests in flight finish
        if fleet is not None:
            fleet.serve(0)
        for sock, _ in poller.poll(10):
            while True:
                try:
                    sent.pop(peek(sock.recv(zmq.NOBLOCK))[1], None)
                except zmq.Again:
                    break
    return Result(replies, errors, wall, cpu_pct, latency)


def stream_events(server: Process, agent: FakeAgent, owner: Sock, seconds: float) -> Result:
    """The agent holding call c1 sends call.state events as fast as the owner takes them (at
    most EVENTS_AHEAD not yet received); the coordinator checks each and routes it to the owner."""
    data = {"state": "CONFIRMED", "code": 200, "reason": "OK", "remote_uri": "sip:b@127.0.0.1",
            "call_id": "x@127.0.0.1", "role": "caller", "agent": agent.name}
    seq = itertools.count(2)
    sent = got = 0
    cpu0, t0 = server.cpu(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        while sent - got < EVENTS_AHEAD:
            try:
                agent.sock.send(msgpack.packb({"v": 1, "kind": "evt", "id": "", "op": "call.state",
                                               "obj": "c1", "seq": next(seq), "ts": time.time(),
                                               "data": data}), zmq.NOBLOCK)
            except zmq.Again:  # the agent's queue is full: let the coordinator catch up
                break
            sent += 1
        if owner.poll(1):
            while True:
                try:
                    owner.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                got += 1
    wall = time.perf_counter() - t0
    cpu_pct = 100 * (server.cpu() - cpu0) / wall
    while owner.poll(200):  # what is still on its way
        owner.recv()
    return Result(got, 0, wall, cpu_pct, [])


def wait_admitted(fleet: FakeFleet, n: int, timeout: float) -> float:
    t0 = time.monotonic()
    while fleet.admitted() < n:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"only {fleet.admitted()} of {n} fake agents admitted")
        fleet.beat(time.monotonic())
        fleet.serve(5)
    return time.monotonic() - t0


# -- the steps ------------------------------------------------------------------------------
def step_requests(ctx: Ctx, seconds: float, clients: int) -> None:
    print(f"requests ({clients} clients x {WINDOW} in flight, {seconds:g} s each)")
    print(f"  {'':<34}{'req/s':>9}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'co CPU':>9}"
          f"{'/s @1 core':>11}")
    status = lambda k, rid: pack_req("lib.status", {}, rid)  # noqa: E731
    echo = start_echo()
    try:
        socks = [client(ctx, echo.endpoints["clients"]) for _ in range(clients)]
        print(hammer(echo, socks, status, seconds).row("ZeroMQ ROUTER echo (baseline)", 2))
        for s in socks:
            s.close(0)
    finally:
        echo.stop()
    server = start_coordinator()
    fleet = FakeFleet(ctx, server.endpoints["agents"], hold=True)
    try:
        socks = [client(ctx, server.endpoints["clients"]) for _ in range(clients)]
        print(hammer(server, socks, status, seconds).row("lib.status (coordinator only)", 2))
        fleet.add(1)
        wait_admitted(fleet, 1, 10)
        request(socks[0], "acc.create", {"uri": "sip:a@127.0.0.1", "acc": "a1"}, "s1", fleet)
        request(socks[0], "call.make", {"acc": "a1", "uri": "sip:b@127.0.0.1", "call": "c1"},
                "s2", fleet)
        info = lambda k, rid: pack_req("call.info", {"call": "c1"}, rid)  # noqa: E731
        print(hammer(server, socks, info, seconds, fleet).row("call.info (routed to an agent)", 4))
        print(stream_events(server, fleet.agents[0], socks[0], seconds)
              .row("call.state events (agent -> owner)", 2))
        for s in socks:
            s.close(0)
    finally:
        fleet.close()
        server.stop()


def probe_pages(url: str, seconds: float, out: Connection) -> None:
    """In a process of its own (so that serving the fake fleet delays no reply): a lib.agents
    page of PAGE agents 10 times a second for ``seconds``; sends back the latencies in ms."""
    ctx: Ctx = zmq.Context()
    sock = client(ctx, url)
    lat: list[float] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        s0 = time.perf_counter()
        request(sock, "lib.agents", {"limit": PAGE}, f"probe-{len(lat)}", None)
        lat.append((time.perf_counter() - s0) * 1000)
        time.sleep(max(0.0, 0.1 - (time.perf_counter() - s0)))
    out.send(lat)
    sock.close(0)
    ctx.term()


def _watch(server: Process, fleet: FakeFleet, seconds: float,
           probe: bool = True) -> tuple[float, list[float]]:
    """Keep the fleet beating for ``seconds``: the coordinator's CPU % and, with ``probe``,
    lib.agents latencies (a page of PAGE agents 10 a second, from another process: they cost
    the coordinator too)."""
    lat: list[float] = []
    prober = None
    if probe:
        mine, theirs = multiprocessing.Pipe()
        prober = multiprocessing.get_context("spawn").Process(
            target=probe_pages, args=(server.endpoints["clients"], seconds, theirs))
        prober.start()
    cpu0, t0 = server.cpu(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        fleet.beat(time.monotonic())
        fleet.serve(5)
    cpu = 100 * (server.cpu() - cpu0) / (time.monotonic() - t0)
    if prober is not None:
        while not mine.poll(0.005):  # its last requests still need the fleet's heartbeats
            fleet.beat(time.monotonic())
            fleet.serve(5)
        lat = mine.recv()
        prober.join(10)
    return cpu, lat


def list_all(sock: Sock, tag: str, fleet: FakeFleet) -> tuple[int, float]:
    """Every agent lib.agents lists, page after page (default pages): how many, and how long
    the whole listing took in ms."""
    s0, listed = time.perf_counter(), 0
    args: dict[str, Any] = {}
    for k in itertools.count():
        page = request(sock, "lib.agents", args, f"{tag}-all-{k}", fleet).result
        listed += len(page["agents"])
        if "next" not in page:
            return listed, (time.perf_counter() - s0) * 1000
        args = {"after": page["next"]}
    raise AssertionError("unreachable")


def step_heartbeats(ctx: Ctx, seconds: float, sizes: list[int]) -> None:
    print(f"heartbeats (fake agents, 1 heartbeat/s each way; {seconds:g} s per size): the "
          f"coordinator's CPU for them alone, then with a lib.agents page of {PAGE} asked 10 "
          f"times a second (its latency), and the whole list in pages of "
          f"{proto.limits.AGENTS_PAGE} once; then the same fleet in a load run (each agent also "
          f"sends its load.stats once a second)")
    print(f"  {'agents':>8}{'admitted in':>13}{'co CPU':>9}{'+ lib.agents':>13}{'lost':>6}"
          f"{'page p50 ms':>13}{'p99 ms':>9}{'all ms':>8}{'in a run: co CPU':>18}{'lost':>6}"
          f"{'page p50 ms':>13}")
    server = start_coordinator()
    fleet = FakeFleet(ctx, server.endpoints["agents"])
    sock = client(ctx, server.endpoints["clients"])
    try:
        for size in sizes:
            fleet.add(size - len(fleet.agents))
            took = wait_admitted(fleet, size, 60)
            quiet, _ = _watch(server, fleet, seconds, probe=False)
            cpu, lat = _watch(server, fleet, seconds)
            live, whole = list_all(sock, f"h{size}", fleet)
            run = f"run{size}"
            request(sock, "load.start", {"run": run, "rate": 1, "duration": 3600,
                                         "targets": ["sip:peer@127.0.0.1"]}, run, fleet, 30)
            run_cpu, run_lat = _watch(server, fleet, seconds)
            run_live, _ = list_all(sock, f"r{size}", fleet)
            request(sock, "load.stop", {"run": run}, f"{run}-stop", fleet, 30)
            print(f"  {size:>8}{took:>12.2f}s{quiet:>8.1f}%{cpu:>12.1f}%{size - live:>6}"
                  f"{percentile(lat, 50):>13.2f}{percentile(lat, 99):>9.2f}{whole:>8.1f}"
                  f"{run_cpu:>17.1f}%{size - run_live:>6}{percentile(run_lat, 50):>13.2f}")
    finally:
        sock.close(0)
        fleet.close()
        server.stop()


def step_placement(ctx: Ctx, seconds: float, sizes: list[int], clients: int) -> None:
    print(f"placement (call.make; fake agents end each call at once; {clients} clients x "
          f"{WINDOW} in flight, {seconds:g} s per size)")
    print(f"  {'':<34}{'calls/s':>9}{'msg/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'co CPU':>9}"
          f"{'/s @1 core':>11}")
    for size, homes_full in itertools.product(sizes, (False, True)):
        server = start_coordinator()
        fleet = FakeFleet(ctx, server.endpoints["agents"])
        socks: list[Sock] = []
        try:
            fleet.add(size)
            wait_admitted(fleet, size, 60)
            socks = [client(ctx, server.endpoints["clients"]) for _ in range(clients)]
            for k, sock in enumerate(socks):
                home = request(sock, "acc.create", {"uri": f"sip:u{k}@127.0.0.1",
                                                    "acc": f"a{k}"}, f"p{k}", fleet)
                if homes_full:  # its home reports no socket free: placed elsewhere
                    agent = next(a for a in fleet.agents if a.name == home.result["agent"])
                    agent.full, agent.next_beat = True, 0.0
            fleet.beat(time.monotonic())
            request(socks[0], "lib.status", {}, "sync", fleet)  # the heartbeats are in

            def make(k: int, rid: str) -> bytes:
                return pack_req("call.make", {"acc": f"a{k}", "uri": "sip:peer@127.0.0.1"}, rid)

            res = hammer(server, socks, make, seconds, fleet)
            print(res.row(f"call.make over {size} agents{', homes full' if homes_full else ''}",
                          6))
        finally:
            for s in socks:
                s.close(0)
            fleet.close()
            server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    p.add_argument("--clients", type=int, default=4, help="client connections")
    p.add_argument("--fleets", default="100,500,1000,2000", help="fake agents for heartbeats")
    p.add_argument("--placement-fleets", default="16,1000", help="fake agents for placement")
    p.add_argument("--steps", default="requests,heartbeats,placement",
                   help="which measurements, comma-separated (default all three)")
    p.add_argument("--echo-router", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.echo_router:
        return echo_router()
    sizes = sorted(int(n) for n in args.fleets.split(","))
    ctx: Ctx = zmq.Context()
    ctx.setsockopt(zmq.LINGER, 0)
    ctx.set(zmq.MAX_SOCKETS, max(sizes) + 100)
    print(f"one coordinator: Python {platform.python_version()}, pyzmq {zmq.__version__} "
          f"(libzmq {zmq.zmq_version()}), {os.cpu_count()} cores; this process drives it from "
          f"the other core")
    t0 = time.monotonic()
    try:
        steps = set(args.steps.split(","))
        if "requests" in steps:
            step_requests(ctx, args.seconds, args.clients)
        if "heartbeats" in steps:
            step_heartbeats(ctx, args.seconds, sizes)
        if "placement" in steps:
            step_placement(ctx, args.seconds,
                           [int(n) for n in args.placement_fleets.split(",")], args.clients)
    finally:
        ctx.destroy(linger=0)  # closes whatever a failed step left open
    print(f"msg/s: messages through the coordinator (in + out) at that rate; co CPU: the "
          f"coordinator process (its Python thread and libzmq's I/O thread: it can pass 100%), "
          f"100% = one core; /s @1 core: the rate divided by that share of "
          f"a core (where it would saturate its one core, if cost per request stays the same: "
          f"below 100% the driver, not the coordinator, set the pace). "
          f"Whole run {time.monotonic() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
