"""The answering side of `callfleet answer`: an account's callbacks that ring, answer, hold and
hang up each incoming call as asked, and count how every call ended, per agent.

The agents answer by themselves when they can (one code below 300: the account's
``auto_answer``, after its ``ring`` time); otherwise (a code mix, a rejection), and for hold
times and tones, the timed actions run on one worker thread (a heap of due times), never on
the client's callback thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from coordinator.client import AccountCallback, Call, CallCallback, Error, Lib
from proto.dist import CodeMix, Dist
from proto.front import FINAL_HEADER

log = logging.getLogger("callfleet answer")

#: what became of the calls, in the order tables show them: answered (reached CONFIRMED),
#: rejected (with a code of --code), cancelled (the caller gave up before the answer), lost (cut
#: off by the loss of their agent, answered or not)
OUTCOMES = ("answered", "rejected", "cancelled", "lost")
#: the reasons of a call cut off by the loss of its agent
LOST_REASONS = ("worker_lost", "recycle")
#: on a rejection chosen by the service: a SIP front passes it to the caller instead of trying
#: another agent (its failover is for agents that are full, draining or gone)
FINAL = {FINAL_HEADER: "yes"}
#: the tone answered calls send with --media tone (Hz)
TONE_HZ = 440


@dataclass(frozen=True)
class Behaviour:
    codes: CodeMix
    ring_s: float
    hold: Dist | None
    media: str

    @property
    def auto_answer(self) -> int | None:
        """The code the agents answer with by themselves, after the ring time (one code
        < 300), else None (rejections are sent by the service: they carry the front's
        FINAL_HEADER)."""
        code = self.codes.codes[0]
        return code if len(self.codes.codes) == 1 and code < 300 else None


class Timers:
    """Timed actions on one thread (each a client request: never on the callback thread)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._stopped = False
        self.errors = 0
        self._thread = threading.Thread(target=self._run, name="answer-timers", daemon=True)
        self._thread.start()

    def at(self, due: float, action: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (due, next(self._seq), action))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._heap)
            try:
                action()
            except Error:
                self.errors += 1  # the call ended meanwhile (its caller hung up, its agent went)
            except Exception:  # a bug must not stop every later call's actions
                self.errors += 1
                log.exception("a timed action failed")


class Tally:
    """Calls by agent and outcome; ``up`` answered calls now."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.outcomes: dict[str, Counter[str]] = {o: Counter() for o in OUTCOMES}
        self.up = 0
        self.ringing = 0

    def total(self, what: str) -> int:
        return sum((self.calls if what == "calls" else self.outcomes[what]).values())

    def agents(self) -> list[str]:
        return sorted(self.calls)


class Service(AccountCallback):
    """The account's callback: each incoming call handled as ``behaviour`` says."""

    def __init__(self, lib: Lib, behaviour: Behaviour, rng: random.Random | None = None) -> None:
        super().__init__()
        self.lib = lib
        self.behaviour = behaviour
        self.rng = rng or random.Random()
        self.tally = Tally()
        self.timers = Timers()

    def on_incoming_call(self, call: Call) -> None:
        b = self.behaviour
        leg = _Leg(self, call, b.codes.pick(self.rng))
        with self.tally.lock:
            self.tally.calls[call.agent] += 1
            self.tally.ringing += 1
        call.set_callback(leg)
        if b.auto_answer is None:
            now = time.monotonic()
            if b.ring_s > 0:
                self.timers.at(now, lambda: call.answer(180))
            self.timers.at(now + b.ring_s, leg.respond)


class _Leg(CallCallback):
    def __init__(self, service: Service, call: Call, code: int) -> None:
        super().__init__(call)
        self.service = service
        self.code = code
        self.confirmed = False
        self.tone = ""

    def respond(self) -> None:
        assert self.call is not None
        if self.code < 300:
            self.call.answer(self.code)
        else:
            self.call.hangup(self.code, hdr_list=FINAL)

    def on_state(self) -> None:
        assert self.call is not None
        s, call = self.service, self.call
        i = call.info()
        if i.state == "CONFIRMED" and not self.confirmed:
            self.confirmed = True
            with s.tally.lock:
                s.tally.ringing -= 1
                s.tally.up += 1
                s.tally.outcomes["answered"][call.agent] += 1
            now = time.monotonic()
            if s.behaviour.media == "tone":
                s.timers.at(now, self.play_tone)
            if s.behaviour.hold is not None:
                s.timers.at(now + s.behaviour.hold.sample(s.rng), call.hangup)
        elif i.state == "DISCONNECTED":
            lost = i.last_reason in LOST_REASONS
            with s.tally.lock:
                if self.confirmed:
                    s.tally.up -= 1
                else:
                    s.tally.ringing -= 1
                if lost:
                    s.tally.outcomes["lost"][call.agent] += 1
                elif not self.confirmed:
                    outcome = ("rejected" if self.code >= 300 and i.last_code == self.code
                               else "cancelled")
                    s.tally.outcomes[outcome][call.agent] += 1
            if self.tone:
                tone, self.tone = self.tone, ""
                s.timers.at(time.monotonic(), lambda: s.lib.tone_destroy(tone))

    def play_tone(self) -> None:
        assert self.call is not None
        if not self.call.is_valid():
            return
        self.tone = self.service.lib.create_tone(TONE_HZ, call=self.call.id)
        self.service.lib.conf_connect(self.tone, self.call.info().conf_slot)
