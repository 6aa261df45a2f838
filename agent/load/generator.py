"""An agent's share of a load run: it places calls at its rate, answers calls to its answering
account, runs each call's scenario steps (``agent.load.flow``: the run's ``caller`` and
``answer`` parts carry the steps of their leg), and reports counters, histograms and per-step
figures once a second.

Load calls send no per-call events: the agent aggregates, the coordinator merges. A call is
only started when a call slot and the socket budget allow it; a call that is due but cannot
start waits (and is counted as delayed), so a run never ends in PJ_ETOOMANY or an abort.
"""

from __future__ import annotations

import collections
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from agent import transfer
from agent.accounts import create_account
from agent.errors import PJ_ETOOMANY
from agent.headers import header_vector
from agent.load import totals as loadtotals
from agent.load.flow import CONFIRMED, DISCONNECTED, EARLY, STOP_HEADER, Flow
from agent.load.media import LoadMedia
from agent.load.report import Report
from agent.objects import AgentAccount, AgentCall, media_summary, uri_user
from agent.state import SLOT_RELEASE_GRACE_S, AgentState
from proto.scenario import expand

STATS_EVERY_S = 1.0
#: shortest call (answered for this long) whose far-end tone is checked at its hangup
TONE_CHECK_MIN_S = 0.5
#: most seconds of calls that may be due at once: a run that fell behind does not catch up
BACKLOG_S = 0.2
#: how long a tone or player a step used is kept after it was disconnected, before it is
#: destroyed. pjsua frees a media port's memory at once when it is destroyed, but the conference
#: bridge applies a disconnection or a removal later, in its clock thread (pjmedia 2.14+ queues
#: them): a port destroyed while still connected may be read after it is freed
RETIRE_S = 0.5



@dataclass
class _Leg:
    role: str  # caller | callee
    started: float
    #: the call's scenario steps
    flow: Flow
    confirmed: float | None = None
    #: the run's media source feeds this call
    fed: bool = False
    #: the callee URI of a caller leg
    target: str = ""
    #: a consultation call's: the flow of the leg that placed it
    parent: Flow | None = None
    #: a call to a callee the run no longer calls (its agent was lost): hung up, it no
    #: longer holds one of the run's slots while its transaction times out
    abandoned: bool = False


@dataclass
class LoadGen:
    state: AgentState
    run: str
    caller: dict[str, Any] | None
    answer: dict[str, Any] | None
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    rate: float = 0.0
    legs: dict[str, AgentCall] = field(default_factory=dict)
    info: dict[str, _Leg] = field(default_factory=dict)
    ending: bool = False
    done: bool = False
    #: the owning client (routing id in hex, CURVE key) and the run's profile as reports show
    #: it: kept for a restarted coordinator (load.agent_start ``owner``, ``profile``)
    owner: str = ""
    owner_key: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    #: every report so far added up (agent.load.totals)
    totals: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t0 = self.begun = self.clock()
        self._n = itertools.count(1)
        self._started = 0
        self._next_stats = self.t0 + STATS_EVERY_S
        self._targets = itertools.cycle((self.caller or {}).get("targets") or [""])
        #: this agent's rows of the run's per-call data, a row a call (cycled)
        self._rows = itertools.cycle((self.caller or {}).get("data") or [{}])
        #: each leg's steps (proto.scenario), checked by the coordinator
        self.steps = {"caller": list((self.caller or {}).get("steps") or [{"op": "call"}]),
                      "callee": list((self.answer or {}).get("steps") or []),
                      "transferee": list((self.caller or self.answer or {}).get("transferee")
                                         or [])}
        self.rate = float(self.caller["rate"]) if self.caller else 0.0
        self._due_head_delayed = False
        #: when (seconds into this part) the last call started (-1: none yet)
        self._last_start = -1.0
        self._recent: collections.deque[float] = collections.deque()
        #: what happened since the last load.stats report
        self.report = Report()
        part = self.caller or self.answer or {}
        #: what the calls send (made first: a bad WAV path fails before any account exists)
        self.sender = LoadMedia(str(part.get("media") or "silence"), self.run)
        #: the legs whose steps send DTMF by INFO: their calls are told each INFO's outcome
        self.info_dtmf = {role for role, steps in self.steps.items() if any(
            s["op"] == "dtmf" and s.get("method") == "info" for s in steps)}
        #: a step listens for the far end's tone: the calls' received audio is measured
        self.listens = any(step["op"] == "expect_tone" for steps in self.steps.values()
                           for step in steps)
        #: what ``tone`` and ``play`` steps send, by call
        self.sounds: dict[str, Any] = {}
        #: sounds disconnected, destroyed once the bridge has applied that (RETIRE_S)
        self.retired: collections.deque[tuple[float, Any]] = collections.deque()
        self.registrar = str(part.get("registrar") or "")
        #: calls start once the coordinator says every identity of the run is registered (a
        #: registrar run) or every agent's answering account exists (a self-answering run)
        self.released = not self.registrar and not (self.caller or {}).get("wait_go")
        #: registering identities: the last outcome's SIP code (None: none yet)
        self.reg: dict[str, int | None] = {}
        self.caller_accs: list[AgentAccount] = []
        self.answer_acc: AgentAccount | None = None
        try:
            for j, ident in enumerate((self.caller or {}).get("ids", []), 1):
                self.caller_accs.append(self._account(f"{self.run}/c{j}", ident))
            if self.answer:
                self.answer_acc = self._account(f"{self.run}/a", self.answer["ids"][0])
                self.answer_acc.on_incoming = self._on_incoming
        except Exception:
            self._drop_accounts()
            raise
        self._callers = itertools.cycle(self.caller_accs)

    def _account(self, gid: str, ident: dict[str, Any]) -> AgentAccount:
        part = self.caller or self.answer or {}
        # the run's account call options (100rel, session timers, SRTP)
        sip: dict[str, Any] = dict(part.get("session") or {})
        if self.registrar:
            sip.update({"registrar": self.registrar, "proxy": self.registrar,
                        "username": ident.get("username", ""),
                        "password": ident.get("password", "")})
        acc = create_account(self.state, gid, str(ident["uri"]), None, sip=sip)
        if self.registrar:
            self.reg[gid] = None
            acc.on_reg = self._on_reg
        return acc

    def _drop_accounts(self) -> None:
        for acc in (*self.caller_accs, self.answer_acc):
            if acc is not None:
                acc.deleting = True
        self.state.reap()

    def _on_reg(self, acc: AgentAccount, code: int, active: bool) -> None:
        if acc.deleting or acc.gid not in self.reg:
            return
        if active and 200 <= code < 300:
            self.reg[acc.gid] = 200
        elif code >= 300 or not active:
            self.reg[acc.gid] = code or 408
        self._next_stats = self.clock()  # tell the coordinator at once

    def go(self) -> None:
        """Every identity of the run is registered: start calling from now."""
        if not self.released:
            self.released = True
            self.t0 = self.begun = self.clock()

    # -- starting calls -----------------------------------------------------------------
    def _due(self, now: float) -> float:
        """Calls that should have started by ``now`` (the integral of the ramped rate). A run
        that fell behind (a stall, a full fleet) does not catch up in a burst: the schedule
        slips so that at most BACKLOG_S of calls are ever due at once."""
        assert self.caller is not None
        due = self._scheduled(now)
        allowed = self._started + max(1.0, self.rate * BACKLOG_S)
        if due > allowed and self.rate > 0:
            self.t0 += (due - allowed) / self.rate
            return allowed
        return due

    def _scheduled(self, now: float) -> float:
        """Calls due by ``now`` on the schedule alone: call k (from 0) at ``phase + k/rate``
        (past the ramp). The agents' phases interleave their calls, so that the fleet's calls
        come evenly from the first second on, not one per agent at once."""
        assert self.caller is not None
        if self.rate <= 0:
            return float(self._started)  # paused
        t = now - self.t0 - float(self.caller.get("phase", 0.0))
        if t < 0:
            return 0.0
        ramp = float(self.caller.get("ramp", 0.0))
        base = self.rate * t * t / (2 * ramp) if ramp > 0 and t < ramp else self.rate * (t - ramp / 2)
        return float(math.floor(base + 1e-9) + 1)

    def _may_start(self) -> bool:
        assert self.caller is not None
        now = self.clock()
        while self._recent and self._recent[0] <= now:
            self._recent.popleft()
        # a just-ended call's far end may still hold its slot: count it a little longer
        outgoing = sum(1 for leg in self.info.values()
                       if leg.role == "caller" and not leg.abandoned) + len(self._recent)
        return (outgoing < int(self.caller["slots"]) and self.state.free_slots() > 0
                and self.state.budget.can_take())

    def _caller_finished(self, now: float) -> bool:
        if self.caller is None or self.ending:
            return True
        if not self.released:
            return False  # identities still registering: the run has not begun
        quota = int(self.caller.get("calls", 0))
        duration = float(self.caller.get("duration", 0.0))
        return (quota > 0 and self._started >= quota) or (duration > 0 and now - self.begun >= duration)

    def _start_calls(self, now: float) -> None:
        assert self.caller is not None
        while (self.released and not self._caller_finished(now)
               and self._started < self._due(now)):
            if not self._may_start():
                if not self._due_head_delayed:
                    self._due_head_delayed = True
                    self.report.counts["delayed"] += 1
                return
            self._due_head_delayed = False
            self._started += 1
            self._last_start = now - self.begun
            number = next(self._n)
            gid = f"{self.run}:{self.state.name}:{number}"
            acc = next(self._callers)
            call = AgentCall(self.state, acc, gid, observer=self._on_state)
            self.state.calls[gid] = call
            self.legs[gid] = call
            step = self.steps["caller"][0]
            values = {**next(self._rows), "call": str(number), "me": acc.user}
            target = expand(step["to"], values) if step.get("to") else next(self._targets)
            leg = _Leg("caller", now, self._flow("caller", call), target=target)
            leg.flow.values = {**values, "peer": uri_user(target)}
            self.info[gid] = leg
            self.report.counts["started"] += 1
            prm = pj.CallOpParam(True)
            headers = step.get("headers")
            if headers:
                prm.txOption.headers = header_vector(
                    {k: expand(v, leg.flow.values) for k, v in headers.items()})
            try:
                call.makeCall(target, prm)
            except pj.Error as exc:
                # pjsua may have ended the call inside makeCall already (DISCONNECTED, e.g. 502
                # when the target does not resolve): then _on_state counted its outcome
                counted = gid not in self.info
                self._forget(gid)
                call.finish()
                if exc.status == PJ_ETOOMANY and not counted:  # no slot after all: it waits
                    self._started -= 1
                    self.report.counts["started"] -= 1
                    self._due_head_delayed = True
                    self.report.counts["delayed"] += 1
                    return
                if not counted:
                    self.report.fail(f"pj{exc.status}", f"pj{exc.status} {exc.reason}")
                    leg.flow.on_state(DISCONNECTED, f"pj{exc.status}")  # its call step failed
                continue
            leg.flow.run()

    def _flow(self, role: str, call: AgentCall) -> Flow:
        call.on_dtmf = self._on_digit
        if self.sender.source is not None or self.listens:
            call.on_media = self._on_media
        call.far_end_header = STOP_HEADER
        call.on_im, call.on_im_status = self._on_im, self._on_im_status
        if role in self.info_dtmf:
            call.on_info_status = self._on_info_status  # (every transaction reaches it)
        call.on_transfer_status = self._on_transfer_status
        if self.steps["transferee"]:
            call.on_transfer = self._on_transfer
        return Flow(role, self.steps[role], call, self, self.clock)

    def _on_transfer(self, call: AgentCall, prm: Any) -> None:
        """A REFER on one of the run's calls: its new call runs the transferee's steps."""
        acc = self.state.accounts.get(call.acc_id)
        if (self.ending or acc is None or acc.deleting or self.state.free_slots() <= 0
                or not self.state.budget.can_take()):
            prm.statusCode = 503
            return
        number = f"x{next(self._n)}"
        gid = f"{self.run}:{self.state.name}:{number}"
        child = AgentCall(self.state, acc, gid, observer=self._on_state)
        transfer.adopt(call, child, prm)
        self.legs[gid] = child
        leg = _Leg("transferee", self.clock(), self._flow("transferee", child))
        leg.flow.values = {"call": number, "me": acc.user, "peer": uri_user(str(prm.dstUri))}
        self.info[gid] = leg
        self.report.counts["transferred"] += 1
        leg.flow.run()

    def consult(self, flow: Flow, to: str, headers: dict[str, str]) -> AgentCall:
        """A ``consult`` step: a call from the leg's identity to ``to``, not one of the run's
        calls (not counted as started), hung up with its leg."""
        acc = self.state.accounts[flow.call.acc_id]
        gid = f"{self.run}:{self.state.name}:k{next(self._n)}"
        call = AgentCall(self.state, acc, gid, observer=self._on_state)
        self.state.calls[gid] = call
        self.legs[gid] = call
        self.info[gid] = _Leg("consult", self.clock(), Flow("consult", [], call, self,
                                                            self.clock), parent=flow)
        prm = pj.CallOpParam(True)
        if headers:
            prm.txOption.headers = header_vector(headers)
        try:
            call.makeCall(to, prm)
        except pj.Error:
            self._forget(gid)
            call.finish()
            raise
        return call

    def _on_transfer_status(self, call: AgentCall, code: int, final: bool) -> None:
        leg = self.info.get(call.gid)
        if leg is not None:
            leg.flow.on_transfer_status(code, final)

    # -- the flows' host (agent.load.flow.FlowHost) ---------------------------------------
    def step_done(self, flow: Flow, index: int, ok: bool, reason: str, elapsed_s: float,
                  fatal: bool) -> None:
        op = str(flow.steps[index]["op"])
        self.report.steps.record(flow.role, index + 1, op, ok, reason, elapsed_s, fatal)
        # a call that never came up missed no digit; other digits are missed ones at any time
        if op == "expect_dtmf" and (ok or flow.confirmed or reason.startswith("got")):
            self.report.counts["dtmf_ok" if ok else "dtmf_missed"] += 1

    def heard(self, flow: Flow) -> bool:
        return self.sender.heard(flow.call)

    def start_sound(self, flow: Flow, source: Any) -> None:
        """A ``tone`` or ``play`` step: the call sends this instead of the run's media."""
        self.stop_sound(flow)
        aud = flow.call.getAudioMedia(-1)  # pj.Error when the call has no audio (yet)
        if self.sender.source is not None:
            self.sender.source.stopTransmit(aud)
        source.startTransmit(aud)
        self.sounds[flow.call.gid] = source

    def stop_sound(self, flow: Flow) -> None:
        """The sound's time is up (or the call ended): the run's media again."""
        gen = self.sounds.pop(flow.call.gid, None)
        if gen is None:
            return
        self.retired.append((self.clock() + RETIRE_S, gen))
        try:
            aud = flow.call.getAudioMedia(-1)
            gen.stopTransmit(aud)
            if self.sender.source is not None:
                self.sender.source.startTransmit(aud)
        except pj.Error:
            pass  # the call's audio is gone

    def hanging_up(self, flow: Flow) -> None:
        leg = self.info.get(flow.call.gid)
        if leg is None or leg.confirmed is None:
            return
        self.report.media.sample(flow.call)
        if self.sender.checks_tone:
            self.report.counts[self._tone(flow.call, leg, self.clock())] += 1

    # -- answering ------------------------------------------------------------------------
    def _on_incoming(self, acc: AgentAccount, pj_call_id: int) -> None:
        assert self.answer is not None
        now = self.clock()
        number = f"in{next(self._n)}"
        gid = f"{self.run}:{self.state.name}:{number}"
        call = AgentCall(self.state, acc, gid, pj_call_id, observer=self._on_state)
        self.state.calls[gid] = call
        self.legs[gid] = call
        leg = _Leg("callee", now, self._flow("callee", call))
        try:
            peer = uri_user(str(call.getInfo().remoteUri))
        except pj.Error:
            peer = ""
        leg.flow.values = {"call": number, "me": acc.user, "peer": peer}
        self.info[gid] = leg
        self.report.counts["incoming"] += 1
        leg.flow.incoming = True
        leg.flow.run()
        leg.flow.incoming = False

    def _on_media(self, call: AgentCall) -> None:
        leg = self.info.get(call.gid)
        if leg is None or leg.fed:
            return
        if media_summary(call.getInfo())[0] == "ACTIVE":
            leg.fed = True
            self.sender.attach(call, listen=self.listens)

    def _on_digit(self, call: AgentCall, digit: str) -> None:
        leg = self.info.get(call.gid)
        if leg is not None:
            leg.flow.on_digit(digit)

    def _on_im(self, call: AgentCall, text: str) -> None:
        leg = self.info.get(call.gid)
        if leg is not None:
            leg.flow.on_message(text)

    def _on_info_status(self, call: AgentCall, code: int) -> None:
        leg = self.info.get(call.gid)
        if leg is not None:
            leg.flow.on_info_status(code)

    def _on_im_status(self, call: AgentCall, code: int) -> None:
        leg = self.info.get(call.gid)
        if leg is not None:
            leg.flow.on_message_status(code)

    # -- call progress --------------------------------------------------------------------
    def _on_state(self, call: AgentCall, ci: Any) -> None:
        leg = self.info.get(call.gid)
        if leg is None:
            return
        now = self.clock()
        if leg.parent is not None:  # a consultation call: its leg's flow follows it
            state = {pj.PJSIP_INV_STATE_CONFIRMED: CONFIRMED,
                     pj.PJSIP_INV_STATE_DISCONNECTED: DISCONNECTED}.get(ci.state)
            if state == DISCONNECTED:
                self._forget(call.gid)
            if state is not None:
                leg.parent.on_consult_state(state, str(ci.lastStatusCode or ""))
            return
        if ci.state == pj.PJSIP_INV_STATE_EARLY:
            leg.flow.on_state(EARLY)
        elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED and leg.confirmed is None:
            leg.confirmed = now
            if leg.role == "caller":
                self.report.counts["answered"] += 1
                self.report.setup.record((now - leg.started) * 1e6)
            leg.flow.on_state(CONFIRMED)
        elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if call.far_end_said:  # the far end's run is stopping: so is this one
                leg.flow.stop()
            leg.flow.on_state(DISCONNECTED, str(ci.lastStatusCode or ""))
            for child in call.children:  # a transfer's call that pjsua never started
                unborn = self.info.get(child.gid)
                if unborn is not None and child.getId() == pj.PJSUA_INVALID_ID:
                    unborn.flow.on_state(DISCONNECTED, "not started")
                    self._forget(child.gid)
            if leg.role == "caller":
                self._recent.append(now + SLOT_RELEASE_GRACE_S)
                if leg.confirmed is None:
                    code = str(ci.lastStatusCode or "local")
                    self.report.fail(code, f"{code} {ci.lastReason}")
                else:
                    self.report.counts["completed"] += 1
                    self.report.duration.record((now - leg.confirmed) * 1e6)
            self._forget(call.gid)

    def _forget(self, gid: str) -> None:
        self.legs.pop(gid, None)
        self.info.pop(gid, None)

    def _timers(self, now: float) -> None:
        for leg in list(self.info.values()):
            leg.flow.tick(now)
        while self.retired and self.retired[0][0] <= now:
            self.retired.popleft()

    def _tone(self, call: AgentCall, leg: _Leg, now: float) -> str:
        """The tone check of a call being hung up: too short a call has not had the time to
        hear the far end (its first packets, the bridge's level meter): not checked."""
        if leg.confirmed is None or now - leg.confirmed < TONE_CHECK_MIN_S:
            return "tone_unchecked"
        return "tone_heard" if self.sender.heard(call) else "tone_missed"

    # -- the agent loop's entry points ----------------------------------------------------
    def tick(self) -> None:
        now = self.clock()
        if self.caller is not None and not self.done:
            self._start_calls(now)
        self._timers(now)
        if now >= self._next_stats:
            self._next_stats = now + STATS_EVERY_S
            self.emit_stats()
        if self.ending and not self.legs and not self.done:
            self.finish()

    def next_due(self, now: float) -> float:
        """When this run next needs a tick: a call to start, an answer or a hangup to send."""
        due = now + 1.0
        if (self.caller is not None and self.released and not self._caller_finished(now)
                and self.rate > 0):
            if self._started < self._due(now):
                if self._may_start():
                    return now  # late already: start it at once
                # waiting for a slot: a call ending (a SIP event) wakes the loop anyway
            else:
                due = min(due, self.t0 + float(self.caller.get("phase", 0.0))
                          + self._started / self.rate)
        for leg in self.info.values():
            t = leg.flow.next_due()
            if t is not None:
                due = min(due, t)
        return due

    def retarget(self, targets: list[str], lost: list[str] | tuple[str, ...] = ()) -> None:
        """Call these from now on (round robin). Calls up or ringing to a ``lost`` callee (its
        agent is gone) are hung up: an INVITE to a dead agent would hold its slot until its
        transaction times out (32 s), so it stops counting against the run's slots."""
        if self.caller is None:
            return
        self.caller["targets"] = targets
        self._targets = itertools.cycle(targets)
        for gid, leg in self.info.items():
            if leg.role == "caller" and not leg.abandoned and leg.target in lost:
                leg.abandoned = True
                call = self.legs.get(gid)
                if call is not None:
                    try:
                        call.hangup(pj.CallOpParam(True))
                    except pj.Error:
                        pass  # already ending

    def set_rate(self, rate: float) -> None:
        """Change the rate from now on: the schedule restarts at the calls started so far."""
        self.rate = rate
        if self.caller is not None:
            self.caller["ramp"] = 0.0
            if rate > 0:  # the next call one interval of the new rate from now
                self.t0 = (self.clock() - float(self.caller.get("phase", 0.0))
                           - (self._started - 1) / rate)
            self._due_head_delayed = False

    def end(self) -> None:
        """Start no more calls; hang up what is up; report ``done`` when all legs are gone."""
        self.ending = True
        for leg in list(self.info.values()):
            leg.flow.stop()  # the run's end, not a failure of the step the call is at
        prm = pj.CallOpParam(True)
        prm.txOption.headers = header_vector({STOP_HEADER: "yes"})  # nor at the far end's
        for call in list(self.legs.values()):
            try:
                call.hangup(prm)
            except pj.Error:
                pass  # already ending

    def caller_done(self) -> bool:
        """No more calls to place, and none placed here up: the run's own calls and the calls
        transfers made (the run ends, hanging up what is left, once every agent is done)."""
        return self._caller_finished(self.clock()) and not any(
            leg.role in ("caller", "transferee") for leg in self.info.values())

    def emit_stats(self) -> None:
        """Counters and histograms since the last report (the coordinator adds them up)."""
        self.state.emit("load.stats", self.run, self._take_stats())

    def holding(self) -> dict[str, Any]:
        """The run's part for a restarted coordinator (agent.holdings): who owns it, its profile
        and share, and the sum of its load.stats reports so far (``reports`` of them: the
        ``seq`` of the last; the coordinator counts only the reports numbered after it), whose
        fields are the part's own (one level less deep: frames are at most MAX_DEPTH)."""
        return {**self.totals, "run": self.run, "owner": self.owner, "owner_key": self.owner_key,
                "profile": self.profile, "elapsed": round(self.clock() - self.begun, 3),
                "slots": int(self.caller["slots"]) if self.caller else 0,
                "released": self.released, "ending": self.ending,
                "reports": self.state.seq_of(self.run) if self.totals else 0}

    def _take_stats(self) -> dict[str, Any]:
        """The report since the last one (then cleared), also added into ``totals``."""
        data: dict[str, Any] = {
            "agent": self.state.name, **self.report.to_wire(),
            "t": round(self.clock() - self.begun, 3) if self.released else 0.0,
            "active": sum(1 for leg in self.info.values() if leg.role == "caller"),
            "at": self._at(),
            "answering": sum(1 for leg in self.info.values() if leg.role == "callee"),
            "last_start": round(max(0.0, self._last_start), 3),
            "identities": len(self.reg),
            "registered": sum(1 for code in self.reg.values() if code == 200),
            "reg_failed": dict(Counter(str(c) for c in self.reg.values()
                                       if c is not None and c != 200)),
            "caller_done": self.caller_done(),
            "done": self.done}
        self.totals = loadtotals.merge(self.totals, data)
        self.report = Report()
        return data

    def _at(self) -> dict[str, int]:
        """Where the calls this agent placed are in their steps (step number from 1, "end"
        past the last): should the agent be lost, its calls are lost at these steps."""
        at: Counter[str] = Counter()
        for leg in self.info.values():
            if leg.role == "caller":
                pc = leg.flow.pc
                at["end" if pc >= len(leg.flow.steps) else str(pc + 1)] += 1
        return dict(at)

    def finish(self) -> None:
        self.done = True
        self._drop_accounts()
        self.emit_stats()
        self.close()

    def close(self) -> None:
        """Release the media source and the accounts' hooks (which refer back to this run) now:
        a pjsua2 media object that outlives libDestroy aborts the process."""
        self.sender.close()
        self.sounds.clear()
        self.retired.clear()
        for acc in (*self.caller_accs, self.answer_acc):
            if acc is not None:
                acc.on_incoming = None
                acc.on_reg = None
