"""A load run as it goes, on the user's terminal: a rich progress bar (with an ETA when the run
has an end) and the live figures; a plain line per second when the output is not a terminal
(a log, a pipe, CI). In a terminal, keys steer the run as SIPp's do: ``+``/``-`` rate by 1
call/s, ``*``/``/`` by 10, ``p`` pause and resume, ``q`` stop the run (as Ctrl-C)."""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import tty
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

#: key -> change of the rate (calls/s)
RATE_KEYS = {"+": 1.0, "-": -1.0, "*": 10.0, "/": -10.0}
KEYS_HELP = "keys: + - (1/s)  * / (10/s)  p pause  q stop"


def status_line(p: dict[str, Any]) -> str:
    """The live figures in one line."""
    line = (f"{p['elapsed']:7.1f}s  started {p['started']:6d}  answered {p['answered']:6d}  "
            f"failed {p['failed']:5d}  up {p['active']:4d}  rate "
            f"{p.get('rate_window', p['rate']):6.1f}/s (target {p['target_rate']:g})  setup "
            f"p50 {p.get('interval_setup_p50_ms', p['setup_p50_ms']):.1f} ms "
            f"p95 {p.get('interval_setup_p95_ms', p['setup_p95_ms']):.1f} ms")
    if p.get("lost"):
        line += f"  lost {p['lost']}"
    if p["delayed"]:
        line += f"  waited {p['delayed']}"
    failing = [s for s in p.get("steps") or [] if s.get("failed")]
    if failing:  # a scenario's steps that failed so far, the most failed first
        failing.sort(key=lambda s: -int(s["failed"]))
        line += "  step failures " + ", ".join(f"{s['leg']}.{s['step']} {s['op']} {s['failed']}"
                                               for s in failing[:3])
    return line


class Display:
    """The live view of one run: ``update`` with each progress, ``note`` for a message,
    ``close`` before the final table."""

    def __init__(self, profile: dict[str, Any], quiet: bool) -> None:
        self.quiet = quiet
        self.console = Console(highlight=False)
        self.rich = self.console.is_terminal and not quiet
        self.calls = int(profile.get("calls") or 0)
        self.duration = float(profile.get("duration") or 0.0)
        self.progress: Progress | None = None
        if self.rich:
            self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                     TaskProgressColumn(), TimeRemainingColumn(),
                                     TextColumn("{task.fields[line]}"), console=self.console,
                                     transient=False)
            total = self.calls or self.duration or None
            self.task = self.progress.add_task("run", total=total, line="starting")
            self.progress.start()

    def update(self, p: dict[str, Any]) -> None:
        """A second of the run: its line (scrolling above the bar in a terminal)."""
        if self.quiet:
            return
        if self.progress is None:
            print(status_line(p), flush=True)
            return
        done = p["started"] if self.calls else min(p["elapsed"], self.duration)
        self.progress.console.print(status_line(p), highlight=False)
        self.progress.update(self.task, completed=done,
                             line=f"{p.get('rate_window', p['rate']):.1f}/s of "
                                  f"{p['target_rate']:g}/s, {p['active']} up")

    def note(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


class Keys:
    """Single keys from the terminal, while the run goes (cbreak mode, restored at close)."""

    def __init__(self, on_key: Callable[[str], None]) -> None:
        self.on_key = on_key
        self._stop = threading.Event()
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        self._thread = threading.Thread(target=self._read, name="callfleet-keys", daemon=True)
        self._thread.start()

    @staticmethod
    def available() -> bool:
        return sys.stdin.isatty() and sys.stdout.isatty()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._fd], [], [], 0.2)
            if ready:
                key = os.read(self._fd, 1).decode(errors="replace")
                if key:
                    self.on_key(key)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
