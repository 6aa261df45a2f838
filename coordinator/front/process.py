"""Kamailio as the front's child: started in the foreground (``-DD -E``) in its own session,
its output in the front's work directory, told to re-read the dispatcher list with Kamailio's
own RPC client (``kamcmd dispatcher.reload`` on the ctl socket), stopped as a group."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from coordinator.front.config import FrontConfig


class KamailioError(RuntimeError):
    pass


def udp_bound(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` (UDP, IPv4), from /proc/net/udp."""
    try:
        packed = bytes(int(x) for x in host.split("."))
    except ValueError:
        return False
    want = f"{int.from_bytes(packed, 'little'):08X}:{port:04X}"
    with open("/proc/net/udp") as f:
        return any(line.split()[1] == want for line in f.readlines()[1:])


class Kamailio:
    def __init__(self, cfg: FrontConfig, exe: str) -> None:
        self.cfg = cfg
        self.exe = exe
        self.kamcmd = shutil.which("kamcmd") or str(Path(exe).with_name("kamcmd"))
        self.log = cfg.workdir / "kamailio.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [self.exe, "-f", str(self.cfg.cfg_file), "-DD", "-E", "-m", "64", "-M", "8",
                 "-P", str(self.cfg.workdir / "kamailio.pid"), "-w", str(self.cfg.workdir),
                 "-Y", str(self.cfg.workdir)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KamailioError(f"kamailio exited with {self.proc.returncode}: "
                                    + self.tail())
            if self.cfg.ctl_socket.exists() and (
                    not self.cfg.host[:1].isdigit() or udp_bound(self.cfg.host, self.cfg.port)):
                return
            time.sleep(0.05)
        self.stop()
        raise KamailioError(f"kamailio did not start within {timeout:g} s: " + self.tail())

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def errors(self, lines: int = 3) -> str:
        """``: <its last ERROR/CRITICAL lines>`` ('' : none)."""
        bad = [ln.strip() for ln in self.tail(20000).splitlines()
               if " ERROR: " in ln or " CRITICAL: " in ln or ln.startswith("ERROR")]
        return (": " + " | ".join(bad[-lines:])) if bad else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rpc(self, *command: str) -> str:
        """A Kamailio RPC command over the ctl socket; its output. KamailioError on failure."""
        try:
            proc = subprocess.run([self.kamcmd, "-s", f"unix:{self.cfg.ctl_socket}", *command],
                                  capture_output=True, text=True, timeout=5,
                                  stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise KamailioError(f"kamcmd {' '.join(command)}: {exc}") from exc
        if proc.returncode != 0 or "error" in proc.stdout.lower()[:200]:
            raise KamailioError(f"kamcmd {' '.join(command)}: {(proc.stdout + proc.stderr).strip()}")
        return proc.stdout

    def reload(self) -> None:
        self.rpc("dispatcher.reload")

    def stop(self, timeout: float = 10.0) -> int:
        return stop_session(self.proc, timeout)


def stop_session(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> int:
    """Stop a Kamailio started in its own session: SIGTERM (the main process stops its
    workers), SIGKILL to the session past ``timeout``; then no worker is left (one stuck in
    its SIGTERM handler, seen with 5.6, is killed)."""
    if proc is None:
        return 0
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    try:  # a worker that outlived the main process would be re-parented, out of our sight
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the session is empty: every worker exited
    return proc.returncode
