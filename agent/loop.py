"""The agent's single loop: PJSIP polling, commands, events and heartbeats, all on one thread.

Idle, the loop sleeps in PJSIP's poll (SIP and PJSIP's timers wake it at once) until its own
next timer, at most SLEEP_MAX_MS, and a Waker thread ends the sleep when a command arrives
(agent.waker): an idle agent wakes about once a second (the coordinator's heartbeat, which
it answers).
For SLEEP_AFTER_S after a command it polls instead (below), ready for the next one.
While it holds media objects (a player's end comes from PJSIP's media thread, which cannot
end the sleep) or resets, and in an agent built without a Waker, an idle loop blocks in
ZeroMQ's poll instead and gives PJSIP a non-blocking turn between waits, which grow to
IDLE_MAX_MS. With calls up, it blocks in PJSIP
(SIP wakes it at once) and checks ZeroMQ without waiting; that wait starts at 1 ms after any
activity and doubles while nothing happens, up to BUSY_MAX_MS, never past the next load-run
timer. So commands are served at once when idle and within BUSY_MAX_MS under load, calls that
only carry media (RTP is handled by PJSIP's media thread) cost ~BUSY_MAX_MS^-1 wakeups a
second. An agent whose calls all belong to load runs waits up to LOAD_MAX_MS: the runs' own
timers bound each wait, SIP still wakes it at once, and a run's commands (rate, end) may wait
that long.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import zmq

import proto
from agent import admission, health, holdings, link, reset, ringing
from agent.bridge import Bridge
from agent.ops import EXECUTORS
from agent.state import AgentState
from agent.waker import Waker
from proto import limits

IDLE_MIN_MS = 1
IDLE_MAX_MS = 20
BUSY_MAX_MS = 8
#: the longest wait while only load-run calls are up
LOAD_MAX_MS = 40
#: commands handled per turn before PJSIP gets the thread back
BATCH = 64
#: the longest sleep of an idle agent in PJSIP's poll when a Waker ends it at each command
#: (PJSIP's own timers end it sooner; its own heartbeat, BEAT_ALONE_S after the last, anyway):
#: longer than a heartbeat period, so that the coordinator's heartbeat, not a timeout just
#: before it, ends the sleep
SLEEP_MAX_MS = 2000
#: quiet after a command before an idle agent sleeps: a client's next command often follows
#: at once, and waking a sleeping agent costs ~0.3 ms more than ZeroMQ's own poll (two
#: threads woken in turn, and PJSIP reading the datagram)
SLEEP_AFTER_S = 0.2
#: the agent answers the coordinator's heartbeat (sent to every agent at once, each HEARTBEAT_S)
#: with its own, so a fleet's heartbeats reach the coordinator together, read in batches, and an
#: idle agent wakes once a period; it beats alone when the coordinator's is this late
BEAT_ALONE_S = 1.5 * limits.HEARTBEAT_S
#: a coordinator heartbeat this soon after the agent's last is not answered (the coordinator
#: probes every agent five times a second after a connection closed: agent liveness)
ANSWER_GAP_S = 0.5 * limits.HEARTBEAT_S


class AgentLoop:
    def __init__(self, state: AgentState, ep: Any, sock: zmq.Socket[bytes],
                 hello: dict[str, Any], bridge: Bridge,
                 clock: Callable[[], float] = time.monotonic, waker: Waker | None = None) -> None:
        self.state = state
        self.ep = ep
        self.bridge = bridge
        self.watch = health.Watch()
        #: set when the agent drained and must restart itself (agent.health)
        self.recycle = False
        self._drain_since = 0.0
        self.sock = sock
        self.hello = hello
        self.clock = clock
        self.admitted = False
        self.fatal: str | None = None
        self.stopping = False
        #: told to reset by the coordinator: dropping everything, no hello until done
        self.resetting = False
        self._next_hb = 0.0
        self._last_hb = -BEAT_ALONE_S
        self._next_hello = 0.0
        self._heard = clock()
        self._hello_n = 0
        #: the id of the coordinator that admitted this agent last ("" : none yet)
        self.admitted_by = ""
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        #: wakes PJSIP's poll at each command, so that an idle agent sleeps in it (agent.waker)
        self.waker = waker
        #: turns of the loop (the heartbeat's ``wakeups``) and those spent asleep in PJSIP
        self.turns = 0
        self.sleeps = 0
        self._last_command = 0.0

    # -- the coordinator link ------------------------------------------------------------
    def _say_hello(self, now: float) -> None:
        self._hello_n += 1
        self._next_hello = now + limits.HEARTBEAT_S
        hello_id = f"hello-{self._hello_n}"
        hello = holdings.hello_args(self.hello, self.state, self.admitted_by, hello_id)
        link.send(self.sock, proto.req("agent.hello", hello, hello_id))

    def _on_reply(self, msg: proto.Message) -> None:
        if msg.op != "agent.hello":
            return
        if msg.ok and (msg.result or {}).get("reset") is True:
            self.admitted = False
            self.resetting = True
            reset.begin(self.state)
        elif msg.ok:
            self.admitted = True
            self.admitted_by = str((msg.result or {}).get("coordinator") or "")
        elif (msg.error or {}).get("code") == "E_DUPLICATE":
            self.fatal = str((msg.error or {}).get("msg", "name taken"))

    def _on_request(self, msg: proto.Message) -> None:
        self._last_command = self.clock()
        try:
            proto.check_expiry(msg, time.time())  # a stale command is refused, not executed
            proto.check_request(msg, from_coordinator=True)
            self.state.saw_ids(msg.args)
            executor = EXECUTORS.get(msg.op)
            if executor is None:
                raise proto.ProtoError("E_UNKNOWN_OP", f"agent does not execute {msg.op!r}",
                                       op=msg.op)
            reply = proto.ok(msg, executor(self.state, msg.args))
        except proto.ProtoError as exc:
            reply = proto.error(msg, exc)
        except Exception as exc:  # a bug in an executor must not kill the agent
            reply = proto.error(msg, proto.ProtoError("E_INTERNAL", f"{type(exc).__name__}: {exc}"))
        # the reply goes before the events the request caused (e.g. CALLING)
        link.send(self.sock, reply)
        self.flush()

    def _on_frame(self, frame: bytes) -> None:
        self._heard = self.clock()
        try:
            msg = proto.decode(frame)
        except proto.ProtoError as exc:
            link.send(self.sock, proto.error(None, exc))
            return
        if msg.kind == "req":
            self._on_request(msg)
        elif msg.kind == "rep":
            self._on_reply(msg)
        elif msg.kind == "hb" and msg.data.get("known") is False:
            self.admitted = False
        elif msg.kind == "hb" and self._heard - self._last_hb >= ANSWER_GAP_S:
            self._next_hb = self._heard  # answered at the end of this turn

    def flush(self) -> None:
        out = self.state.outbox
        while out:
            link.send(self.sock, out.popleft())

    # -- the loop -----------------------------------------------------------------------
    def _pjsip_wait_ms(self, wait_ms: int) -> int:
        """How long PJSIP may block this turn: not past the next load-run timer."""
        now = self.clock()
        for gen in self.state.loads.values():
            if not gen.done:
                wait_ms = min(wait_ms, max(0, int((gen.next_due(now) - now) * 1000)))
        return wait_ms

    def _sleep_ms(self) -> int:
        """How long an idle agent may sleep in PJSIP's poll: until its own next timer (the
        heartbeat; the hello while not admitted), when a Waker ends the sleep at each command.
        0 (ZeroMQ's poll waits instead) without a Waker, while something that PJSIP's media
        thread reports is held (media objects: a player's end), while resetting, and for
        SLEEP_AFTER_S after a command."""
        now = self.clock()
        if (self.waker is None or self.state.media or self.resetting
                or now - self._last_command < SLEEP_AFTER_S):
            return 0
        until = self._next_hb if self.admitted else min(self._next_hb, self._next_hello)
        ms = min(SLEEP_MAX_MS, max(0, int((until - now) * 1000) + 1))
        # read last before the sleep: a message already here means no sleep; after this read,
        # any new one makes the socket's descriptor readable, and the Waker sees it
        return 0 if int(self.sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN else ms

    def turn(self, wait_ms: int) -> int:
        """One iteration; returns how much happened (PJSIP events and frames handled)."""
        self.turns += 1
        busy = bool(self.state.calls or self.state.loads)
        # no PJSIP turn while it could open more sockets than the budget holds (agent.admission)
        gated = not admission.pjsip_may_run(self.state)
        sleep_ms = 0 if gated or busy else self._sleep_ms()
        if gated:
            happened = 0
        elif sleep_ms and self.waker is not None:
            self.sleeps += 1
            self.waker.arm()
            happened = self.ep.libHandleEvents(sleep_ms)
            self.waker.disarm()
        else:
            happened = self.ep.libHandleEvents(self._pjsip_wait_ms(wait_ms) if busy else 0)
        happened = max(0, happened or 0)
        if happened:  # calls ended, streams re-created (re-INVITE): removed bridge ports go
            self.bridge.reclaim(self.state.bridge_expected())
        admission.release(self.state)
        happened += ringing.answer_due(self.state)
        for run, gen in list(self.state.loads.items()):
            if not gen.done:
                gen.tick()
            # a part that ended while no coordinator listened is kept for the next one's hello
            # (its last report was lost: the holdings' totals carry it)
            if gen.done and (self.admitted or self.resetting):
                del self.state.loads[run]
        self.state.reap()
        self.flush()
        handled = 0
        events = dict(self._poller.poll(admission.GATED_WAIT_MS if gated
                                        else 0 if busy or sleep_ms else wait_ms))
        while self.sock in events and handled < BATCH:
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            handled += 1
            self._on_frame(frame)
        happened += handled
        now = self.clock()
        if now - self._heard > limits.HEARTBEAT_S * limits.HEARTBEAT_MISSES:
            self.admitted = False  # coordinator silent: introduce ourselves again
            self._heard = now
        if self.resetting and reset.done(self.state):
            self.resetting = False
            self._next_hello = now  # holding nothing now: say so at once
        if not self.admitted and not self.resetting and now >= self._next_hello:
            self._say_hello(now)
        if now >= self._next_hb:
            self._next_hb = now + BEAT_ALONE_S
            self._last_hb = now
            self._beat(now)
        if self.state.draining and (not self.state.calls or now - self._drain_since
                                    > health.DRAIN_MAX_S):
            self.recycle = self.stopping = True
        return happened

    def _beat(self, now: float) -> None:
        """The heartbeat, with this agent's health figures; past a leak limit, start draining."""
        self.bridge.reclaim(self.state.bridge_expected())
        fig = self.figures()
        why = self.watch.why(fig)
        if why and not self.state.draining:
            self.state.draining = why
            self._drain_since = now
            self.state.emit("agent.draining", self.state.name, {"why": why, **fig.wire()})
            self.flush()
        woken = {"woken": self.waker.wakes} if self.waker else {}
        link.send(self.sock, proto.hb({**self.state.load(), **fig.wire(), "wakeups": self.turns,
                                       **woken}))

    def figures(self) -> health.Figures:
        """What this agent holds now, against what its live objects explain."""
        sockets, fds, rss_kb = health.process_figures()
        listeners = len(self.hello.get("sip", ())) or 1
        return health.Figures(
            bridge_used=self.bridge.used(), bridge_max=self.bridge.max_ports,
            expected_ports=self.state.bridge_expected(), sockets=sockets,
            # SIP listeners, the coordinator link, the Waker's, and each live call's media (and
            # connection)
            expected_sockets=(listeners + 1 + (Waker.SOCKETS if self.waker else 0)
                              + self.state.budget.in_use), fds=fds, rss_kb=rss_kb)

    def _wait_cap(self) -> int:
        """The longest wait of this state: short while a client's calls are up (its commands are
        served within BUSY_MAX_MS), longer while only load-run calls are (their own timers bound
        every wait, and the only commands they get are rate changes and ends)."""
        if any(call.observer is None for call in self.state.calls.values()):
            return BUSY_MAX_MS
        if self.state.loads:
            return LOAD_MAX_MS
        return BUSY_MAX_MS if self.state.calls else IDLE_MAX_MS

    def run(self) -> None:
        wait = IDLE_MIN_MS
        while not self.stopping and self.fatal is None:
            happened = self.turn(wait)
            cap = self._wait_cap()
            wait = IDLE_MIN_MS if happened else min(cap, wait * 2)
