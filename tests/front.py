"""The fleet's SIP front in tests: `callfleet front` as a child process against a fleet's
coordinator, on a free loopback port, with its own work directory; and SIPp's own counts."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coordinator.client import AccountCallback, Call, CallCallback, Lib
from tests.helpers import free_udp_port, stop, wait_for


class Front:
    def __init__(self, coordinator: str, workdir: Path, port: int | None = None,
                 host: str = "127.0.0.1",
                 wrap: Callable[[list[str]], list[str]] = lambda argv: argv) -> None:
        self.host = host
        self.wrap = wrap
        self.port = port or free_udp_port()
        self.dir = workdir / "front"
        self.out = workdir / "front.out"
        self.coordinator = coordinator
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, agents: int | None = None, timeout: float = 20.0) -> Front:
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(self.wrap(
                [sys.executable, "-m", "coordinator.cli", "front", "--listen", self.hostport,
                 "--coordinator", self.coordinator, "--dir", str(self.dir)]),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for(lambda: "listening" in self.output() or self.proc is None
                 or self.proc.poll() is not None, timeout, "the front to listen")
        assert self.proc.poll() is None, self.output()
        if agents is not None:
            self.wait_listed(agents)
        return self

    def output(self) -> str:
        return self.out.read_text(errors="replace") if self.out.exists() else ""

    def kamailio_log(self) -> str:
        log = self.dir / "kamailio.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def listed(self) -> list[str]:
        """The agents in the dispatcher list now (their duid)."""
        path = self.dir / "dispatcher.list"
        text = path.read_text() if path.exists() else ""
        return re.findall(r"duid=(\S+)", text)

    def wait_listed(self, n: int, timeout: float = 15.0) -> None:
        wait_for(lambda: len(self.listed()) == n, timeout, f"{n} agents in the front's list")

    def count(self, tag: str) -> int:
        """Lines the front's Kamailio logged with ``tag`` (CF-FULL, CF-SILENT, CF-NOAGENT)."""
        return self.kamailio_log().count(tag + " ")

    def transactions(self) -> int:
        """INVITE and other transactions Kamailio's tm created so far (`kamcmd tm.stats`)."""
        out = subprocess.run(["kamcmd", "-s", f"unix:{self.dir / 'kamailio.ctl'}", "tm.stats"],
                             capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"created: (\d+)", out)
        assert m is not None, out
        return int(m.group(1))

    def stop(self) -> int:
        return stop(self.proc, 20) if self.proc is not None else 0


def sipp_stats(workdir: Path) -> dict[str, Any]:
    """SIPp's cumulative counts from its -trace_stat file (the last row): successful and
    failed calls, and how many of the failures were an unexpected ``code`` (-trace_err)."""
    files = sorted(workdir.glob("*_.csv")) + sorted(workdir.glob("*.csv"))
    rows = list(csv.DictReader(files[0].open(), delimiter=";"))
    last = rows[-1]
    errors = "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))
    codes: dict[int, int] = {}
    for m in re.finditer(r"received 'SIP/2.0 (\d{3})", errors):
        codes[int(m.group(1))] = codes.get(int(m.group(1)), 0) + 1
    return {"successful": int(last["SuccessfulCall(C)"]), "failed": int(last["FailedCall(C)"]),
            "unexpected": codes}


class Tally(AccountCallback):
    """What the account's owner heard: each incoming call's agent and called URI, how many
    are up (answered) now and at most, how each ended."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.agents: Counter[str] = Counter()
        self.called: Counter[str] = Counter()
        self.up = 0
        self.peak = 0
        self.confirmed = 0
        self.ended: Counter[str] = Counter()
        self.up_on: Counter[str] = Counter()

    def on_incoming_call(self, call: Call) -> None:
        tally = self
        with self.lock:
            self.agents[call.agent] += 1
            self.called[call.info().request_uri] += 1

        class Watch(CallCallback):
            seen = False

            def on_state(self) -> None:
                i = call.info()
                with tally.lock:
                    if i.state == "CONFIRMED" and not self.seen:
                        self.seen = True
                        tally.confirmed += 1
                        tally.up += 1
                        tally.up_on[call.agent] += 1
                        tally.peak = max(tally.peak, tally.up)
                    elif i.state == "DISCONNECTED":
                        if self.seen:
                            tally.up -= 1
                            tally.up_on[call.agent] -= 1
                        tally.ended[i.last_reason if self.seen else "unanswered"] += 1

        call.set_callback(Watch(call))


def sipp_uac(front: Front, *args: str) -> list[str]:
    """SIPp's built-in uac calling ``bob`` at the front, its counts kept (sipp_stats)."""
    return [front.hostport, "-sn", "uac", "-s", "bob", *args, "-trace_stat", "-stf",
            "stats.csv", "-fd", "1", "-trace_err", "-timeout", "120", "-timeout_error"]


def answering_front(lib: Lib, workdir: Path, agents: int) -> tuple[Tally, Front]:
    """``sip:bob@127.0.0.1`` auto-answered (200) on every agent, its owner's tally, and a front
    listing the ``agents`` agents."""
    tally = Tally()
    lib.create_account("sip:bob@127.0.0.1", cb=tally, auto_answer=200, replicas="all")
    return tally, Front(lib.url, workdir).start(agents=agents)
