"""`callfleet load` (SIPp-like options, live progress, verdict, reports) and `callfleet run` (the
main job: a short self-answering run on an embedded fleet).

Order of work: every option is checked first (``loadopts``), then the fleet is chosen
(``fleetpick``), then the run starts. SIGINT and SIGTERM stop the run on the fleet, whoever
started it, let its live calls end (at most STOP_WAIT_S) and still print the table and write
every report, marked interrupted; a second one quits at once (the run was told to stop)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from coordinator.cli import fleetpick, loadopts
from coordinator.cli import web as dashboard
from coordinator.cli.live import KEYS_HELP, RATE_KEYS, Display, Keys
from coordinator.cli.outputs import CsvStream, write_all
from coordinator.cli.report_text import format_report, partial_report
from coordinator.cli.verdict import EXIT_ERROR, EXIT_INTERRUPTED, checks, exit_code
from coordinator.client import Error, Lib
from coordinator.server.load.plan import parse_profile

#: seconds a stopped run has to end its calls and send its report
STOP_WAIT_S = 15.0


def _err(text: str) -> None:
    print(f"callfleet load: {text}", file=sys.stderr, flush=True)


class Stopper:
    """Ctrl-C and SIGTERM (and the ``q`` key): the first asks the run to stop, the second
    quits at once."""

    def __init__(self) -> None:
        self.asked = threading.Event()
        self.now = threading.Event()

    def signal(self, signum: int = 0, frame: FrameType | None = None) -> None:
        (self.now if self.asked.is_set() else self.asked).set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        old = {s: signal.signal(s, self.signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


class Steering:
    """The run's rate from the keyboard: SIPp's keys."""

    def __init__(self, lib: Lib, run: str, rate: float, display: Display, stop: Stopper) -> None:
        self.lib, self.run, self.rate, self.display, self.stop = lib, run, rate, display, stop
        self.paused = False

    def key(self, key: str) -> None:
        try:
            if key in RATE_KEYS and not self.paused:
                self.rate = max(0.1, round(self.rate + RATE_KEYS[key], 3))
                self.lib.set_load_rate(self.run, self.rate)
                self.display.note(f"rate set to {self.rate:g} calls/s")
            elif key == "p":
                self.paused = not self.paused
                self.lib.set_load_rate(self.run, 0.0 if self.paused else self.rate)
                self.display.note("paused" if self.paused else f"resumed at {self.rate:g} calls/s")
            elif key == "q":
                self.stop.signal()
        except Error as exc:
            self.display.note(f"{exc.err_code}: {exc.err_msg}")


def cmd_load(args: argparse.Namespace) -> int:
    try:
        profile = loadopts.check(args)
        web_plan = dashboard.check_beside(args)
    except (loadopts.Unusable, dashboard.Unusable) as exc:
        _err(str(exc))
        return EXIT_ERROR
    display = Display(profile, args.quiet)
    stop = Stopper()
    with stop.installed():
        try:
            lib = fleetpick.pick(args, profile, display.note)
        except fleetpick.NoFleet as exc:
            display.close()
            _err(str(exc))
            return EXIT_ERROR
        web = dashboard.start_beside(web_plan, lib.url, lib.session.conn.keys, display.note)
        try:
            return _run(lib, args, profile, display, stop)
        finally:
            display.close()
            if web is not None:
                web.stop()
            lib.destroy()


def _run(lib: Lib, args: argparse.Namespace, profile: dict[str, Any], display: Display,
         stop: Stopper) -> int:
    paths = loadopts.outputs(args)
    stream = CsvStream(paths["csv"], parse_profile(profile).flow) if "csv" in paths else None
    lock = threading.Lock()
    last: dict[str, Any] = {}

    def progress(p: dict[str, Any]) -> None:
        with lock:
            last.clear()
            last.update(p)
            if stream is not None:
                stream.add(p)
        display.update(p)

    if stop.asked.is_set():  # interrupted while the fleet was being chosen: nothing ran
        _err("interrupted before the run started")
        return EXIT_INTERRUPTED
    try:
        watch = lib.start_load(profile, on_progress=progress)
    except Error as exc:
        display.close()
        _err(f"{exc.err_code}: {exc.err_msg}")
        return EXIT_ERROR
    display.note(f"run {watch.run} started" + (f"  ({KEYS_HELP})" if Keys.available() else ""))
    keys = Keys(Steering(lib, watch.run, float(profile["rate"]), display, stop).key) \
        if Keys.available() and not args.quiet else None
    try:
        interrupted = _wait(lib, watch.run, watch.finished, stop, display)
    finally:
        if keys is not None:
            keys.close()
    display.close()
    with lock:
        report = watch.report or partial_report(watch.run, profile, last)
        if stream is not None:
            stream.finish(report)
    return _finish(report, args, paths, interrupted)


def _wait(lib: Lib, run: str, finished: threading.Event, stop: Stopper,
          display: Display) -> bool:
    """Until the run's report came; True if a signal stopped it."""
    deadline = 0.0
    while not finished.wait(0.2):
        if stop.asked.is_set() and not deadline:
            deadline = time.monotonic() + STOP_WAIT_S
            display.note(f"stopping run {run}: its calls end, then the report (Ctrl-C again "
                         "to quit now)")
            try:
                lib.stop_load(run)
            except Error as exc:
                display.note(f"could not stop run {run}: {exc.err_code}: {exc.err_msg}")
        if stop.now.is_set() or (deadline and time.monotonic() > deadline):
            break
    return stop.asked.is_set()


def _finish(report: dict[str, Any], args: argparse.Namespace, paths: dict[str, Any],
            interrupted: bool) -> int:
    found = checks(report, loadopts.criteria_of(args))
    code = exit_code(found, interrupted)
    report["interrupted"] = interrupted
    report["verdict"] = {"passed": all(c.passed for c in found), "exit_code": code,
                         "checks": [c.to_wire() for c in found]}
    print(format_report(report, found), flush=True)
    for problem in write_all(paths, report):
        _err(problem)
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = sub.add_parser("load", help="a load run: many calls at a set rate, with a verdict "
                          "and reports")
    loadopts.add_options(load)
    dashboard.add_beside_option(load, "the run's fleet")
    load.set_defaults(func=cmd_load)
    run = sub.add_parser("run", help="the main job: a short self-answering run, embedded fleet")
    loadopts.add_options(run)
    run.set_defaults(func=cmd_load, calls=100, rate=10.0, hold="1", agents=8, embedded=True)
