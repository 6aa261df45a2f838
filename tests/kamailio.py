"""Kamailio as the tests' registrar and proxy: a copy of the test-owned configuration
(tests/integration/kamailio/registrar.cfg) on a free loopback port, in the foreground as a
child of the test (-DD), with its own pid file and working directory; stopped by the test."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from coordinator.client import AccountConfig
from coordinator.front.process import stop_session, udp_bound
from tests.helpers import free_udp_port, wait_for

CONFIG = Path(__file__).parent / "integration" / "kamailio" / "registrar.cfg"
#: the password the tests' Kamailio accepts for every user (unique, so that a leak is easy to spot)
PASSWORD = "cf-secret-7d2e9a41"


class Kamailio:
    def __init__(self, workdir: Path, password: str = PASSWORD) -> None:
        exe = shutil.which("kamailio") or "/usr/sbin/kamailio"
        self.exe = exe
        self.dir = workdir
        self.port = free_udp_port()
        self.pidfile = workdir / "kamailio.pid"
        self.log = workdir / "kamailio.log"
        self.cfg = workdir / "kamailio.cfg"
        self.cfg.write_text(CONFIG.read_text().replace("@PORT@", str(self.port))
                            .replace("@PASSWORD@", password))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The registrar's (and proxy's) SIP URI."""
        return f"sip:127.0.0.1:{self.port}"

    def account(self, user: str, password: str = PASSWORD, expires: int | None = None,
                proxy: bool = True, auto_answer: int | None = None) -> AccountConfig:
        """The settings of ``sip:user@127.0.0.1`` registering here (and using it as proxy)."""
        return AccountConfig("127.0.0.1", user, password, registrar=self.uri,
                             proxy=self.uri if proxy else "", reg_timeout=expires,
                             auto_answer=auto_answer)

    def start(self, timeout: float = 10.0) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-f", str(self.cfg), "-DD", "-E", "-m", "32", "-M", "8",
                 "-P", str(self.pidfile), "-w", str(self.dir), "-Y", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        wait_for(lambda: self.proc is not None and (self.proc.poll() is not None
                                                    or udp_bound("127.0.0.1", self.port)),
                 timeout, "Kamailio to listen")
        if self.proc.poll() is not None:
            raise RuntimeError(f"Kamailio exited with {self.proc.returncode}: "
                               + self.log.read_text(errors="replace")[-2000:])

    def stop(self, timeout: float = 10.0) -> int:
        return stop_session(self.proc, timeout)

    def requests(self, method: str, user: str | None = None, tag: str = "CF-REQ") -> int:
        """How many ``method`` requests Kamailio received (from ``user``, when given); with
        ``tag="CF-SAVP"``, how many of them offered SRTP (RTP/SAVP in their SDP)."""
        pat = re.compile(rf"{tag} {re.escape(method)} from=(\S*)(?: |$)")
        n = 0
        for line in self.log.read_text(errors="replace").splitlines():
            m = pat.search(line)
            if m and (user is None or m.group(1) == user):
                n += 1
        return n
