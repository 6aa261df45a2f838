"""`callfleet events`: JSON lines of a real fleet's events, from a subscription over the clients
endpoint (with its snapshot) and from the PUB firehose, with filters; it stops by itself."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coordinator.client import Lib
from tests.helpers import Recorder, wait_for

ROOT = Path(__file__).resolve().parents[2]


class EventsCli:
    """`callfleet events ARGS` as a child process; its stdout lines and stderr kept as they come."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "coordinator.cli", "events", *args],
                                     cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[dict[str, Any]] = []
        self.err: list[str] = []
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stdout, True)),
                         threading.Thread(target=self._read, args=(self.proc.stderr, False))]
        for t in self._threads:
            t.start()

    def _read(self, stream: Any, is_out: bool) -> None:
        for line in stream:
            if is_out:
                self.lines.append(json.loads(line))
            else:
                self.err.append(line)

    def events(self) -> list[dict[str, Any]]:
        return [x for x in self.lines if x.get("kind") == "evt"]

    def wait_ready(self) -> None:
        wait_for(lambda: any("subscribed" in e for e in self.err) or self.proc.poll() is not None,
                 10, "callfleet events to subscribe")
        assert self.proc.poll() is None, "".join(self.err)

    def finish(self, timeout: float = 10) -> int:
        code = self.proc.wait(timeout)
        for t in self._threads:
            t.join(5)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.finish()


@pytest.fixture
def cli_procs() -> Iterator[list[EventsCli]]:
    procs: list[EventsCli] = []
    yield procs
    for p in procs:
        p.stop()


def test_events_from_a_subscription_and_from_the_firehose(lib: Lib,
                                                          cli_procs: list[EventsCli]) -> None:
    assert lib.fleet is not None
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    # call states, except those of bob's account; stop after 4 events
    sub = EventsCli(["--coordinator", lib.url, "--filter", "call.state", "--exclude",
                     f"acc={bob.id}", "--count", "4"])
    hose = EventsCli(["--events", lib.fleet.events_url, "--filter", "call", "--exclude",
                      "call.media_state", "--duration", "60"])
    cli_procs += [sub, hose]
    sub.wait_ready()
    hose.wait_ready()
    # stdout and stderr are read by two threads: the snapshot line may come a moment later
    wait_for(lambda: bool(sub.lines), 10, "the subscription's snapshot line")
    snapshot = sub.lines[0]  # no call yet; accounts have no call.state events
    assert snapshot == {"kind": "snapshot", "sub": snapshot["sub"], "accounts": [], "calls": [],
                        "truncated": False}

    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "the call CONFIRMED")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")

    assert sub.finish() == 0  # --count 4 reached: it stopped by itself
    events = sub.events()
    assert [(e["op"], e["obj"], e["data"]["state"]) for e in events] == [
        ("call.state", call.id, s) for s in ("CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED")]
    assert all(set(e) == {"v", "kind", "id", "op", "obj", "seq", "ts", "data"} for e in events)

    wait_for(lambda: sum(e["data"].get("state") == "DISCONNECTED" for e in hose.events()) == 2,
             10, "both legs' DISCONNECTED on the firehose")
    got = hose.events()
    assert {e["op"] for e in got} == {"call.state"}  # media excluded, account events not selected
    assert [e["data"]["state"] for e in got if e["obj"] == call.id] == [
        "CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    hose.stop()
    assert hose.proc.returncode == 0  # SIGTERM is a normal stop


def test_events_filter_by_account_and_snapshot(lib: Lib, cli_procs: list[EventsCli]) -> None:
    alice = lib.create_account("sip:alice@127.0.0.1")
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    out = Recorder()
    call = alice.make_call(bob.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 10, "the call CONFIRMED")

    # a late watcher of bob's account: the snapshot shows bob and his leg of the live call
    cli = EventsCli(["--coordinator", lib.url, "--filter", f"acc={bob.id}", "--duration", "60"])
    cli_procs.append(cli)
    cli.wait_ready()
    wait_for(lambda: bool(cli.lines), 10, "the subscription's snapshot line")
    snap = cli.lines[0]
    assert [a["acc"] for a in snap["accounts"]] == [bob.id]
    assert snap["accounts"][0]["contact"] == bob.contact
    [leg] = snap["calls"]
    assert leg["acc"] == bob.id and leg["state"] == "CONFIRMED" and leg["role"] == "callee"

    call.hangup()
    wait_for(lambda: any(e["obj"] == leg["call"] and e["data"].get("state") == "DISCONNECTED"
                         for e in cli.events()), 10, "bob's leg DISCONNECTED")
    assert {e["obj"] for e in cli.events()} == {leg["call"]}
    assert all(e["seq"] > leg["seq"] for e in cli.events())
    cli.stop()
    assert cli.proc.returncode == 0


def test_events_refuses_a_bad_filter() -> None:
    run = subprocess.run([sys.executable, "-m", "coordinator.cli", "events", "--filter", "nope=1",
                          "--coordinator", "tcp://127.0.0.1:1"], cwd=ROOT, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0 and "unknown key 'nope'" in run.stderr
