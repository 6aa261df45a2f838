"""One call leg's scenario steps (``proto.scenario``), run inside the agent.

A :class:`Flow` is a small state machine: it runs steps until one must wait (for a state, for
DTMF digits, for a pause or a ring time to pass), and goes on when the call's events
(:meth:`on_state`, :meth:`on_digit`) or the agent loop's timers (:meth:`tick`, when
:meth:`next_due` says) let it. It never blocks the loop. Every step's outcome goes to the
:class:`FlowHost` (the load run), with the time since the step before ended.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pjsua2 as pj

from agent import pager
from agent.errors import PJ_EINVALIDOP, PJSIP_ESESSIONSTATE
from agent.headers import header_vector
from agent.load.media import tone_generator, wav_player
from agent.objects import AgentCall
from proto.dist import parse_codes, parse_dist
from proto.front import FINAL_HEADER
from proto.scenario import digits_ok, expand

#: what a leg's call reports to its flow
EARLY, CONFIRMED, DISCONNECTED = "early", "confirmed", "disconnected"
#: how often an expect_tone step looks at the level it receives (seconds)
TONE_POLL_S = 0.05
#: a new offer (hold, unhold, re-INVITE, UPDATE) that pjsua refuses because another is under
#: way is tried again this often, for this long, before the step fails
OFFER_RETRY_S, OFFER_PATIENCE_S = 0.05, 2.0
#: the header of the BYE (or CANCEL) with which a stopping run ends its calls: the far end's
#: flow then ends without failing its step (the run is stopping there too)
STOP_HEADER = "X-Callfleet-Stopped"
#: the steps that make a new offer in a confirmed call
REOFFERS = ("hold", "unhold", "reinvite")
#: the steps that wait for the call to be confirmed (a REFER, a new offer, sound on its audio)
ON_CONFIRMED = (*REOFFERS, "transfer", "consult", "attended_transfer", "tone", "play")


class FlowHost(Protocol):
    """What a flow needs of its load run."""

    rng: random.Random

    def step_done(self, flow: Flow, index: int, ok: bool, reason: str, elapsed_s: float,
                  fatal: bool) -> None:
        """Step ``index`` of ``flow`` ended: ``reason`` says why it failed; ``fatal``, that
        the failure fails the run (on_failure "fail")."""

    def hanging_up(self, flow: Flow) -> None:
        """The leg is about to hang up (a last look at its media)."""

    def heard(self, flow: Flow) -> bool:
        """Whether the far end's tone reaches this leg now."""

    def start_sound(self, flow: Flow, source: Any) -> None:
        """This leg sends a tone or a file's sound (raises pj.Error when the call has no
        audio)."""

    def stop_sound(self, flow: Flow) -> None:
        """This leg's sound ends (nothing when it sends none)."""

    def consult(self, flow: Flow, to: str, headers: dict[str, str]) -> AgentCall:
        """Place this leg's consultation call (its states reach :meth:`Flow.on_consult_state`;
        raises pj.Error when pjsua refuses it)."""


@dataclass
class Flow:
    role: str
    steps: list[dict[str, Any]]
    call: AgentCall
    host: FlowHost
    clock: Callable[[], float]
    #: the next step to run (from 0)
    pc: int = 0
    #: what the step at ``pc`` waits for: a state, "dtmf", "pause" or "ring" (None: nothing)
    waiting: str | None = None
    #: when the wait ends (a pause, a ring time, a timeout; None: no limit)
    deadline: float | None = None
    #: an expect_tone step's timeout (its ``deadline`` is the next look)
    until: float | None = None
    #: when the step before ``pc`` ended
    since: float = 0.0
    #: digits received and not yet matched by an expect_dtmf step
    digits: str = ""
    #: a dtmf step by INFO: its digits not sent yet (one INFO at a time)
    info_digits: str = ""
    #: instant messages received and not yet matched by an expect_message step
    messages: tuple[str, ...] = ()
    confirmed: bool = False
    ended: bool = False
    #: the answer code the ``answer`` step is about to send
    code: int = 200
    #: the code the call ended with, as the far end or pjsua gave it
    end_code: str = ""
    #: the flow runs inside pjsua's onIncomingCall (a refusal waits for the loop's next turn)
    incoming: bool = False
    #: this leg's consultation call (a consult step), while it is up
    consult: AgentCall | None = None
    #: the values of the steps' variables (proto.scenario.VARIABLES)
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.since = self.clock()

    # -- events ----------------------------------------------------------------------------
    def on_state(self, state: str, code: str = "") -> None:
        if state == CONFIRMED:
            self.confirmed = True
        if state == DISCONNECTED:
            self.host.stop_sound(self)
            self._end_consult()
            if self.ended:
                return
            self.ended = True
            self.end_code = code
            if self.waiting == DISCONNECTED:
                self._done(True)
            elif self.waiting is not None:
                self._fail("ended" if self.confirmed else f"ended {code or 'local'}")
            elif self.pc == 0 and self.role == "caller":  # ended inside makeCall
                self._record(False, f"ended {code or 'local'}")
            return
        if self.waiting == "offer" and state == CONFIRMED:  # the step it held back runs now
            self.waiting = None
            self.run()
        # a wait for ringing is over once the call is answered as well
        elif self.waiting == state or (self.waiting == EARLY and state == CONFIRMED):
            self._done(True)
            self.run()

    def on_consult_state(self, state: str, code: str = "") -> None:
        """The consultation call's progress: answered passes the consult step, an end before
        fails it."""
        if state == DISCONNECTED:
            self.consult = None
        if self.waiting != "consult":
            return
        if state == CONFIRMED:
            self._done(True)
        elif state == DISCONNECTED:
            self._fail(f"ended {code or 'local'}")
        else:
            return
        self.run()

    def on_digit(self, digit: str) -> None:
        self.digits += digit
        if self.waiting == "dtmf":
            self._match_digits()

    def on_message(self, text: str) -> None:
        self.messages += (text,)
        if self.waiting == "im":
            self._match_message()

    def on_transfer_status(self, code: int, final: bool) -> None:
        """A NOTIFY about the REFER this leg sent: the far end's new call, answered or not."""
        if final:
            self._final_response("xfer", code)

    def on_info_status(self, code: int) -> None:
        """The final response to the INFO (a DTMF digit) this leg sent: the next digit, or the
        step passes with the last one."""
        if self.waiting != "info":
            return
        if not 200 <= code < 300:
            self._fail(str(code))
        elif self.info_digits:
            self._send_info()
            return
        else:
            self._done(True)
        self.run()

    def on_message_status(self, code: int) -> None:
        """The final response to the MESSAGE this leg sent."""
        self._final_response("im_status", code)

    def _final_response(self, waiting: str, code: int) -> None:
        """The outcome a step waiting for ``waiting`` waited for: 2xx passes it."""
        if self.waiting != waiting:
            return
        if 200 <= code < 300:
            self._done(True)
        else:
            self._fail(str(code))
        self.run()

    def tick(self, now: float) -> None:
        if self.ended or self.deadline is None or now < self.deadline:
            return
        if self.waiting == "tone":
            if self.host.heard(self):
                self._done(True)
            elif self.until is not None and now >= self.until:
                self._fail("timeout")
            else:
                self.deadline = now + TONE_POLL_S
                return
            self.run()
            return
        waiting, self.deadline = self.waiting, None
        if waiting == "retry":  # run the step again
            self.waiting = None
        elif waiting == "playing":
            self.host.stop_sound(self)
            self._done(True)
        elif waiting == "pause":
            self._done(True)
        elif waiting == "ring":
            if self._respond(self.code):
                self._done(True)
        else:
            self._fail("timeout")
        self.run()

    def next_due(self) -> float | None:
        return None if self.ended else self.deadline

    # -- running steps ----------------------------------------------------------------------
    def run(self) -> None:
        """Run steps until one waits, the steps are done or the call ends."""
        while not self.ended and self.waiting is None and self.pc < len(self.steps):
            self._start(self.steps[self.pc])

    def _start(self, step: dict[str, Any]) -> None:
        op = step["op"]
        now = self.clock()
        if op in ON_CONFIRMED and not self.confirmed:
            self._wait("offer", None)  # it runs once the call is
        elif op == "call":  # the load run placed the call (with the step's headers)
            self._done(True)
        elif op == "answer":
            self.code = parse_codes(str(step.get("codes") or "200")).pick(self.host.rng)
            ring = float(step.get("ring") or 0.0)
            if ring > 0:
                if self._respond(180):
                    self._wait("ring", now + ring)
            elif self.code >= 300 and self.incoming:
                # from the loop's next turn: pjsua turns a hangup inside onIncomingCall into a
                # pending one that keeps the code but drops the headers (the front's FINAL_HEADER)
                self._wait("ring", now)
            elif self._respond(self.code):
                self._done(True)
        elif op == "wait":
            state = str(step["state"])
            if state in (EARLY, CONFIRMED) and self.confirmed:
                self._done(True)
            else:
                self._wait(state, self._timeout(step, now))
        elif op == "pause":
            self._wait("pause", now + parse_dist(str(step["s"])).sample(self.host.rng))
        elif op in ("dtmf", "expect_dtmf") and not digits_ok(self._digits()):
            self._fail(f"bad digits {self._digits()[:32]!r}")  # as a variable gave them
        elif op == "dtmf" and step.get("method") == "info":
            self.info_digits = self._digits()
            self._send_info()
        elif op == "dtmf":
            prm = pj.CallSendDtmfParam()
            prm.digits = self._digits()
            prm.method = pj.PJSUA_DTMF_METHOD_RFC2833
            self._pj(lambda: self.call.sendDtmf(prm))
        elif op == "expect_dtmf":
            self._wait("dtmf", self._timeout(step, now))
            self._match_digits()
        elif op == "tone":
            self._sound(lambda: (tone_generator(int(step.get("hz") or 1000)), float(step["s"])),
                        now)
        elif op == "play":
            s = step.get("s")
            self._sound(lambda: wav_player(expand(str(step["file"]), self.values),
                                           None if s is None else float(s)), now)
        elif op == "expect_tone":
            self.until = self._timeout(step, now)
            self._wait("tone", now)
        elif op == "message":
            text = expand(str(step["text"]), self.values)
            try:
                with pager.sending(self.call.pagers, text):
                    self.call.sendInstantMessage(pager.message_param(text, None, None))
            except pj.Error as exc:
                self._fail(f"pj{exc.status}")
                return
            self._wait("im_status", self._timeout(step, now))
        elif op == "expect_message":
            self._wait("im", self._timeout(step, now))
            self._match_message()
        elif op == "transfer":
            self.call.transfer_done = False
            try:
                self.call.xfer(expand(str(step["to"]), self.values), pj.CallOpParam(True))
            except pj.Error as exc:
                self._fail(f"pj{exc.status}")
                return
            self._wait("xfer", self._timeout(step, now))
        elif op == "consult":
            headers = {k: expand(v, self.values) for k, v in (step.get("headers") or {}).items()}
            try:
                self.consult = self.host.consult(self, str(step["to"]), headers)
            except pj.Error as exc:
                self._fail(f"pj{exc.status}")
                return
            self._wait("consult", self._timeout(step, now))
        elif op == "attended_transfer":
            if self.consult is None:
                self._fail("no consultation call")
                return
            self.call.transfer_done = False
            try:
                self.call.xferReplaces(self.consult, pj.CallOpParam(True))
            except pj.Error as exc:
                self._fail(f"pj{exc.status}")
                return
            self._wait("xfer", self._timeout(step, now))
        elif op in ("reinvite", "update"):
            action = self.call.reinvite if op == "reinvite" else self.call.update
            self._offer(lambda: action(pj.CallOpParam(True)), now)
        elif op == "hold":
            self._offer(lambda: self.call.setHold(pj.CallOpParam(True)), now)
        elif op == "unhold":
            prm = pj.CallOpParam(True)
            prm.opt.flag |= pj.PJSUA_CALL_UNHOLD
            self._offer(lambda: self.call.reinvite(prm), now)
        elif op == "hangup":
            self._done(True)
            self.hangup(int(step.get("code") or 0))

    def _timeout(self, step: dict[str, Any], now: float) -> float | None:
        timeout = float(step.get("timeout") or 0.0)
        return now + timeout if timeout > 0 else None

    def _wait(self, what: str, deadline: float | None) -> None:
        self.waiting, self.deadline = what, deadline

    def _digits(self) -> str:
        """The digits of the step at ``pc`` (its variables' values in)."""
        return expand(str(self.steps[self.pc]["digits"]), self.values).upper()

    def _match_digits(self) -> None:
        want = self._digits()
        if len(self.digits) < len(want):
            return
        got, self.digits = self.digits[: len(want)], self.digits[len(want):]
        self.deadline = None
        if got == want:
            self._done(True)
        else:
            self._fail(f"got {got}")
        self.run()

    def _match_message(self) -> None:
        if not self.messages:
            return
        got, self.messages = self.messages[0], self.messages[1:]
        want = self.steps[self.pc].get("text")
        want = None if want is None else expand(str(want), self.values)
        self.deadline = None
        if want is None or got == want:
            self._done(True)
        else:
            self._fail(f"got {got[:40]!r}")
        self.run()

    def _offer(self, action: Callable[[], Any], now: float) -> None:
        """A new offer; while pjsua says another is under way, tried again (a while)."""
        try:
            action()
        except pj.Error as exc:
            if exc.status in (PJ_EINVALIDOP, PJSIP_ESESSIONSTATE):
                self.until = self.until or now + OFFER_PATIENCE_S
                if now < self.until:
                    self._wait("retry", now + OFFER_RETRY_S)
                    return
            self._fail(f"pj{exc.status}")
            return
        self._done(True)

    def _sound(self, make: Callable[[], tuple[Any, float]], now: float) -> None:
        """A tone or a file sent for a while (``make``: the source and how long it plays)."""
        try:
            source, length = make()
            self.host.start_sound(self, source)
        except FileNotFoundError as exc:
            self._fail(f"no file {os.path.basename(str(exc))}")  # (a reason is 80 at most)
            return
        except pj.Error as exc:
            self._fail(f"pj{exc.status}")
            return
        self._wait("playing", now + length)

    def _send_info(self) -> None:
        """The next digit of a dtmf step by INFO, then wait for its final response: pjsua sends
        a string's INFOs all at once, and a proxy may pass them on out of order (the far end
        refuses one that a later one overtook: 500, its CSeq is lower)."""
        prm = pj.CallSendDtmfParam()
        prm.digits, self.info_digits = self.info_digits[:1], self.info_digits[1:]
        prm.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
        try:
            self.call.sendDtmf(prm)
        except pj.Error as exc:
            self._fail(f"pj{exc.status}")
            return
        self._wait("info", None)  # the transaction ends with a response or its own timeout

    def _pj(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except pj.Error as exc:
            self._fail(f"pj{exc.status}")
            return
        self._done(True)

    def _respond(self, code: int) -> bool:
        """Send a response (a provisional one, the answer, or a refusal that ends the leg);
        False when pjsua refused (the step failed)."""
        prm = pj.CallOpParam(True)
        prm.statusCode = code
        try:
            if code < 300:
                self.call.answer(prm)
            else:  # the answer-code mix: a SIP front passes it on (not another agent)
                prm.txOption.headers = header_vector({FINAL_HEADER: "yes"})
                self.ended = True  # before: pjsua may report the end inside hangup()
                self.call.hangup(prm)
        except pj.Error as exc:
            self._fail(f"pj{exc.status}")
            return False
        return True

    # -- outcomes -----------------------------------------------------------------------
    def _record(self, ok: bool, reason: str, fatal: bool = False) -> None:
        if self.pc >= len(self.steps):
            return
        now = self.clock()
        self.host.step_done(self, self.pc, ok, reason, now - self.since, fatal)
        self.since = now

    def _done(self, ok: bool) -> None:
        self._record(ok, "")
        self.waiting, self.deadline, self.until = None, None, None
        self.pc += 1

    def _fail(self, reason: str) -> None:
        on_failure = str(self.steps[self.pc].get("on_failure") or "fail")
        self._record(False, reason, fatal=on_failure == "fail")
        self.waiting, self.deadline, self.until = None, None, None
        self.pc += 1
        if on_failure != "skip":
            self.hangup(0)

    def stop(self) -> None:
        """The run is ending: no more steps, and the end of the call fails none."""
        self.ended = True
        self.waiting, self.deadline, self.until = None, None, None

    def _end_consult(self) -> None:
        """The leg is over: its consultation call too (when the transfer target did not end
        it)."""
        consult, self.consult = self.consult, None
        if consult is not None:
            try:
                consult.hangup(pj.CallOpParam(True))
            except pj.Error:
                pass  # already ending

    def hangup(self, code: int) -> None:
        """End the call from this leg (its steps end here)."""
        self._end_consult()
        if self.ended:
            return
        self.host.hanging_up(self)
        self.pc = len(self.steps)
        prm = pj.CallOpParam(True)
        if code and not self.confirmed:
            prm.statusCode = code
        try:
            self.call.hangup(prm)
        except pj.Error:
            pass  # already ending
