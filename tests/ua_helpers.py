"""Helpers of the user-agent tests (registration, hold, DTMF, IM): callbacks that record what
they are told, an observation window for "this must not happen", and SIPp peers."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import zmq

from coordinator.client import AccountCallback, Call, Lib
from tests.helpers import Answerer, Recorder, free_udp_port, start_sipp, wait_for

SCENARIOS = Path(__file__).parent / "integration" / "scenarios"


def start_redirector(target: str, cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """SIPp answering one INVITE with 302 Moved Temporarily to ``target`` (it exits 0 once it
    got the ACK); its messages go to ``cwd``/messages.log. The process and its UDP port."""
    port = free_udp_port()
    return start_sipp(["-sf", str(SCENARIOS / "uas_302.xml"), "-p", str(port), "-m", "1",
                       "-key", "target", target, "-timeout", "30", "-timeout_error",
                       "-trace_msg", "-message_file", str(cwd / "messages.log")], cwd), port


def holds_for(pred: Callable[[], bool], seconds: float) -> bool:
    """Whether ``pred`` stays true during a whole observation window of ``seconds`` (for
    asserting that something does NOT happen, e.g. no REGISTER retries; never to synchronise)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not pred():
            return False
        time.sleep(0.05)
    return pred()


class RegRecorder(AccountCallback):
    """Records each registration outcome: (code, reason, active, expires), and every other
    account callback by name."""

    def __init__(self) -> None:
        super().__init__()
        self.regs: list[tuple[int, str, bool, int]] = []
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.lock = threading.Lock()

    def on_reg_state(self) -> None:
        assert self.account is not None
        i = self.account.info()
        with self.lock:
            self.regs.append((i.reg_status, i.reg_reason, i.reg_active, i.reg_expires))

    def codes(self) -> list[int]:
        with self.lock:
            return [r[0] for r in self.regs]

    def last(self) -> tuple[int, str, bool, int] | None:
        with self.lock:
            return self.regs[-1] if self.regs else None


class RegAnswerer(Answerer):
    """An Answerer that also records registrations (for accounts that register and answer)."""

    def __init__(self, codes: tuple[int, ...] = (180, 200)) -> None:
        super().__init__(codes)
        self.regs: list[tuple[int, bool]] = []

    def on_reg_state(self) -> None:
        assert self.account is not None
        i = self.account.info()
        self.regs.append((i.reg_status, i.reg_active))


def connected_pair(lib: Lib, caller_cb: Recorder | None = None,
                   callee_acc_cb: Answerer | None = None) -> tuple[Call, Recorder, Call, Recorder]:
    """alice (caller) and bob (callee) on two agents, in an answered call with media ACTIVE on
    both sides: (alice's call, its recorder, bob's call, its recorder)."""
    answerer = callee_acc_cb or Answerer(codes=(200,))
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", cb=answerer)
    assert alice.agent != bob.agent
    out = caller_cb or Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED") and bool(answerer.recorders)
             and answerer.recorders[0].reached("CONFIRMED"), 10, "both sides CONFIRMED")
    inn = answerer.recorders[0]
    wait_for(lambda: out.media == ["ACTIVE"] and inn.media == ["ACTIVE"], 5, "media ACTIVE")
    return call, out, answerer.calls[0], inn


def hang_up(call: Call, *recorders: Recorder) -> None:
    call.hangup()
    wait_for(lambda: all(r.last() == "DISCONNECTED" for r in recorders), 10, "the call to end")


class DtmfRecorder(Recorder):
    """A Recorder that also keeps every DTMF digit received."""

    def __init__(self) -> None:
        super().__init__()
        self.digits = ""

    def on_dtmf_digit(self, digits: str) -> None:
        with self.lock:
            self.digits += digits


class DtmfAnswerer(Answerer):
    """Answers every call with 200 and attaches a DtmfRecorder to it."""

    def on_incoming_call(self, call: Call) -> None:
        rec = DtmfRecorder()
        call.set_callback(rec)
        self.calls.append(call)
        self.recorders.append(rec)
        call.answer(200)


class Firehose:
    """The coordinator's PUB socket, subscribed to some event names: the events as maps."""

    def __init__(self, url: str, *events: str) -> None:
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        for name in events or ("",):
            self.sock.setsockopt(zmq.SUBSCRIBE, f"evt.{name}".encode() if name else b"")
        self.sock.connect(url)
        self.frames: list[bytes] = []
        self.events: list[dict[str, Any]] = []

    def poll(self) -> list[dict[str, Any]]:
        while self.sock.poll(0):
            topic, frame = self.sock.recv_multipart()
            self.frames += [topic, frame]
            self.events.append(msgpack.unpackb(frame, raw=False))
        return self.events

    def close(self) -> None:
        self.sock.close(0)
        self.ctx.term()


class ImAccount(RegRecorder):
    """Records the account's instant messages, delivery reports and typing indications; rejects
    calls (as the default AccountCallback does)."""

    def __init__(self) -> None:
        super().__init__()
        self.pagers: list[tuple[str, str, str, str]] = []
        self.statuses: list[tuple[str, str, int, int, str]] = []
        self.typing: list[tuple[str, str, bool]] = []

    def on_pager(self, from_uri: str, contact: str, mime_type: str, body: str) -> None:
        with self.lock:
            self.pagers.append((from_uri, contact, mime_type, body))

    def on_pager_status(self, to_uri: str, body: str, im_id: int, code: int, reason: str) -> None:
        with self.lock:
            self.statuses.append((to_uri, body, im_id, code, reason))

    def on_typing(self, from_uri: str, contact: str, is_typing: bool) -> None:
        with self.lock:
            self.typing.append((from_uri, contact, is_typing))


class ImLog:
    """The instant messages, delivery reports and typing a call's or a buddy's callback hears
    (their callbacks have the same signatures). Mixed in before the callback class."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = getattr(self, "lock", None) or threading.Lock()
        self.pagers: list[tuple[str, str]] = []
        self.statuses: list[tuple[str, int, int, str]] = []
        self.typing: list[bool] = []

    def on_pager(self, mime_type: str, body: str) -> None:
        with self.lock:
            self.pagers.append((mime_type, body))

    def on_pager_status(self, body: str, im_id: int, code: int, reason: str) -> None:
        with self.lock:
            self.statuses.append((body, im_id, code, reason))

    def on_typing(self, is_typing: bool) -> None:
        with self.lock:
            self.typing.append(is_typing)


class ImCall(ImLog, DtmfRecorder):
    """A call recorder that also keeps the call's instant messages, reports and typing."""


class ImAnswerer(Answerer):
    """Answers every call with 200 and attaches an ImCall to it."""

    def on_incoming_call(self, call: Call) -> None:
        rec = ImCall()
        call.set_callback(rec)
        self.calls.append(call)
        self.recorders.append(rec)
        call.answer(200)


class TransferRecorder(Recorder):
    """A call recorder that keeps transfer requests and transfer progress; a call made by an
    accepted transfer gets a Recorder of its own (``new_calls``)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, int]] = []
        self.progress: list[tuple[int, bool]] = []
        self.new_calls: list[tuple[Call, Recorder]] = []

    def on_transfer_request(self, dst: str, code: int) -> None:
        assert self.call is not None
        with self.lock:
            self.requests.append((dst, code))
        new = self.call.transfer_call
        if code < 300 and new is not None:
            rec = Recorder()
            new.set_callback(rec)
            self.new_calls.append((new, rec))

    def on_transfer_status(self, code: int, reason: str, final: bool, cont: bool) -> None:
        with self.lock:
            self.progress.append((code, final))


class TransferAnswerer(Answerer):
    """Answers every call with ``codes`` and attaches a TransferRecorder to it."""

    def on_incoming_call(self, call: Call) -> None:
        rec = TransferRecorder()
        call.set_callback(rec)
        self.calls.append(call)
        self.recorders.append(rec)
        for code in self.codes:
            call.answer(code)


class ReplaceRecorder(Recorder):
    """A call recorder that keeps the INVITE-with-Replaces decisions about its call; the call
    that replaces it gets a Recorder of its own (``replacements``)."""

    def __init__(self) -> None:
        super().__init__()
        self.replace_requests: list[int] = []
        self.replacements: list[tuple[Call, Recorder]] = []

    def on_replace_request(self, code: int, from_uri: str) -> None:
        with self.lock:
            self.replace_requests.append(code)

    def on_replaced(self, new_call: Call) -> None:
        rec = Recorder()
        new_call.set_callback(rec)
        with self.lock:
            self.replacements.append((new_call, rec))


class ReplaceAnswerer(Answerer):
    """Answers every call with 200 and attaches a ReplaceRecorder to it."""

    def on_incoming_call(self, call: Call) -> None:
        rec = ReplaceRecorder()
        call.set_callback(rec)
        self.calls.append(call)
        self.recorders.append(rec)
        call.answer(200)
