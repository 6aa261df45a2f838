"""INVITE floods from SIPp far past an agent's 4 call slots: answered with 486/503 (or served),
never an abort. The agent's own count of sockets (in use + lingering, printed at exit) shows that
PJSIP's 64-slot ioqueue was never near full; afterwards the agent serves a normal call and exits 0.
"""

from __future__ import annotations

import collections
import csv
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from agent.admission import HARD_LIMIT
from coordinator.client import Account, AccountCallback, Call
from tests.faults.conftest import FaultFleet
from tests.helpers import Answerer, Recorder, sipp_path, wait_for

SCENARIOS = Path(__file__).parent / "scenarios"
RATE, CALLS = 200, 600


class Ringing(AccountCallback):
    """Lets every incoming call ring (no answer, no rejection)."""

    def on_incoming_call(self, call: Call) -> None:
        pass


def _flood(hostport: str, service: str, cwd: Path, scenario: list[str]) -> tuple[int, dict[str, int],
                                                                              collections.Counter[str]]:
    """Run SIPp to the end; returns its exit status, its final statistics and the status codes
    of the responses it did not expect (the rejections)."""
    proc = subprocess.run(
        [sipp_path(), "-nostdin", "-i", "127.0.0.1", hostport, *scenario, "-s", service,
         "-r", str(RATE), "-m", str(CALLS), "-timeout", "40", "-recv_timeout", "3000",
         "-trace_stat", "-trace_err"],
        cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        timeout=60)
    with open(next(cwd.glob("*_.csv")), newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    stats = {k: int(v) for k, v in zip(rows[0], rows[-1], strict=False)
             if k.endswith("(C)") and v.isdigit()}
    errors = "".join(p.read_text(errors="replace") for p in cwd.glob("*_errors.log"))
    return proc.returncode, stats, collections.Counter(re.findall(r"received 'SIP/2.0 (\d+)", errors))


def _victim(fleet: FaultFleet, log: Path) -> str:
    """An agent whose stderr the test reads; named to sort first, so that the first account
    created goes there (placement breaks ties by name)."""
    name = f"a-flooded-{os.getpid()}"
    fleet.add_agent(name, log)
    wait_for(lambda: name in fleet.agents(), 10, "the extra agent to connect")
    return name


def _after(fleet: FaultFleet, victim: str, callee: Account, caller: Account, log: Path) -> int:
    """The flooded agent is still admitted, serves a normal call, and exits 0 on SIGTERM;
    returns the socket peak it reports."""
    assert fleet.proc(victim).poll() is None, "the flooded agent died"
    wait_for(lambda: fleet.agents().get(victim, {}).get("state") == "ready", 5, "agent ready")
    out = Recorder()
    call = caller.make_call(callee.contact, cb=out)
    wait_for(lambda: out.reached("CONFIRMED"), 15, "a normal call after the flood")
    call.hangup()
    wait_for(lambda: out.last() == "DISCONNECTED", 10, "the call to end")
    fleet.signal(victim, signal.SIGTERM)
    assert fleet.proc(victim).wait(10) == 0
    err = log.read_text(errors="replace")
    m = re.search(rf"callfleet agent {re.escape(victim)}: socket peak (\d+),.*", err)
    assert m, err[-2000:]
    print(m.group(0))
    return int(m.group(1))


def test_invite_flood_gets_486_or_503_and_the_agent_survives(fleet2: FaultFleet,
                                                              tmp_path: Path) -> None:
    lib = fleet2.lib
    log = tmp_path / "agent.err"
    victim = _victim(fleet2, log)
    watch = Answerer(codes=())  # bob's agent answers; this records what the client is told
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200, cb=watch)
    alice = lib.create_account("sip:alice@127.0.0.1")
    assert bob.agent == victim
    rc, stats, refused = _flood(bob.contact.split("@")[1], "bob", tmp_path, ["-sn", "uac"])
    print(f"sipp uac -r {RATE} -m {CALLS}: exit {rc}, {stats.get('SuccessfulCall(C)')} answered, "
          f"refused {dict(refused)}")
    assert stats["SuccessfulCall(C)"] + stats["FailedCall(C)"] == CALLS
    assert stats["SuccessfulCall(C)"] > 0, "the agent kept answering"
    finals = {code for code in refused if int(code) >= 300}
    assert finals and finals <= {"486", "503"}, refused
    # every call the agent took was reported whole, parked ones too (their INCOMING is replayed)
    assert len(watch.recorders) >= stats["SuccessfulCall(C)"]
    assert all(r.names()[:1] == ["INCOMING"] for r in watch.recorders)
    peak = _after(fleet2, victim, bob, alice, log)
    assert peak <= HARD_LIMIT
    # the test's calls went through the coordinator untouched by the flood's (never reported)
    assert lib.status()["calls"] == 0


@pytest.mark.parametrize("target", ["ringing", "unknown-user"])
def test_invite_cancel_storm_never_exhausts_the_sockets(fleet2: FaultFleet, tmp_path: Path,
                                                        target: str) -> None:
    """INVITE and CANCEL back to back: each call takes and frees a slot and two sockets at once,
    the fastest churn a peer can force (without the brake it aborts the agent in a second)."""
    lib = fleet2.lib
    log = tmp_path / "agent.err"
    victim = _victim(fleet2, log)
    bob = lib.create_account("sip:bob@127.0.0.1", cb=Ringing())
    alice = lib.create_account("sip:alice@127.0.0.1", auto_answer=200)
    assert bob.agent == victim != alice.agent
    service = "bob" if target == "ringing" else "nobody"
    rc, stats, refused = _flood(bob.contact.split("@")[1], service, tmp_path,
                                ["-sf", str(SCENARIOS / "uac_cancel.xml"), "-default_behaviors",
                                 "none"])
    print(f"sipp INVITE+CANCEL to {service} -r {RATE} -m {CALLS}: exit {rc}, stats "
          f"{ {k: v for k, v in stats.items() if v} }, unexpected {dict(refused)}")
    assert stats["OutgoingCall(C)"] == CALLS
    # bob rings on its own agent; a call to alice (elsewhere) from bob's agent proves it serves
    peak = _after(fleet2, victim, alice, bob, log)
    assert peak <= HARD_LIMIT
    wait_for(lambda: lib.status()["calls"] == 0, 10, "the ringing calls to be cancelled")
