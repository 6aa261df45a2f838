"""`callfleet web`: the live dashboard of a running fleet, in a browser; and the same server
beside what `callfleet up --web` and `callfleet load --web` start (in a thread of theirs).

It connects to the coordinator as an ordinary client (``--server-key``/``--key`` when the fleet
uses CURVE keys; a read-only key gives a read-only page). It binds loopback unless told
otherwise; any other address needs a token (``$CALLFLEET_WEB_TOKEN`` or ``--token-file``), and
without one it refuses to start (exit 2)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coordinator.cli.options import DEFAULT_CLIENTS
from proto import curve, extras

if TYPE_CHECKING:
    from aiohttp import web

    from coordinator.web.source import Source

#: what the dashboard needs beyond the base install
WEB_MODULES = ("aiohttp", "jinja2", "matplotlib")
TOKEN_ENV = "CALLFLEET_WEB_TOKEN"


class Unusable(Exception):
    """The dashboard cannot start: one line for the user, exit 2."""


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    token: str


def plan(bind: str, token_file: str = "") -> Plan:
    """Where to listen and with which token, checked before anything starts."""
    need = extras.missing(*WEB_MODULES)
    if need:
        raise Unusable(f"the dashboard needs the web extra: {need}")
    from coordinator.web.security import BindError, check_bind, parse_bind

    token = os.environ.get(TOKEN_ENV, "")
    if token_file:
        try:
            token = Path(token_file).read_text().strip()
        except OSError as exc:
            raise Unusable(f"--token-file {token_file}: {exc.strerror or exc}") from None
        if not token:
            raise Unusable(f"--token-file {token_file}: empty")
    try:
        host, port = parse_bind(bind)
        check_bind(host, token)
    except BindError as exc:
        raise Unusable(str(exc)) from None
    busy = _unusable(host, port)
    if busy:
        raise Unusable(busy)
    return Plan(host, port, token)


def _unusable(host: str, port: int) -> str:
    """Why the dashboard cannot listen on host:port ('' : it can, as far as a bind shows)."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            probe.bind(where)
    except OSError as exc:
        return f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}"
    return ""


class WebServer:
    """The dashboard on its own asyncio loop, in the calling thread (``run``) or a thread of
    its own (``start``)."""

    def __init__(self, where: Plan, url: str, keys: curve.ClientKeys | None,
                 read_only: bool = False) -> None:
        from coordinator.web.security import Guard
        from coordinator.web.source import Dashboard, Source

        self.where, self.url = where, url
        self.source: Source = Source(url, keys, Dashboard(), read_only=read_only)
        self.guard = Guard(where.host, where.port, where.token)
        self.address = ""
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    async def _serve(self, started: threading.Event) -> None:
        from aiohttp import web

        from coordinator.web.server import Dashboard

        self._stop = asyncio.Event()
        app: web.Application = Dashboard(self.source, self.guard, self.url).app()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.where.host, self.where.port)
            await site.start()
            host, port = runner.addresses[0][:2]
            self.address = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
            self.source.start()
            started.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def run(self) -> None:
        """Serve until stop() (or SIGINT/SIGTERM when in the main thread)."""
        try:
            self._loop.run_until_complete(self._serve(self._ready))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            raise
        finally:
            self.source.close()
            self._loop.close()

    def start(self, timeout: float = 10.0) -> None:
        """Serve from a thread of its own; raises Unusable if it cannot listen."""
        self._thread = threading.Thread(target=self._quiet_run, name="callfleet-web",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if self._error is not None or not self.address:
            raise Unusable(self.why_not())

    def _quiet_run(self) -> None:
        try:
            self.run()
        except BaseException:
            pass  # kept in _error for start()

    def why_not(self) -> str:
        exc = self._error
        detail = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        return f"cannot serve the dashboard on {self.where.host}:{self.where.port}: {detail}"

    def wait_ready(self, timeout: float) -> bool:
        """True once it listens (``address`` says where)."""
        return self._ready.wait(timeout) and bool(self.address)

    def stop(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def on_signals(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: self._loop.call_soon_threadsafe(
                lambda: self._stop.set() if self._stop is not None else None))


def cmd_web(args: argparse.Namespace) -> int:
    try:
        where = plan(args.bind, args.token_file)
        keys = curve.from_args(args)
    except (Unusable, curve.KeyFileError) as exc:
        print(f"callfleet web: {exc}", file=sys.stderr)
        return 2
    server = WebServer(where, args.coordinator, keys, read_only=args.read_only)
    server.on_signals()
    threading.Thread(target=_announce, args=(server,), daemon=True).start()
    try:
        server.run()
    except OSError:
        print(f"callfleet web: {server.why_not()}", file=sys.stderr)
        return 2
    return 0


def _announce(server: WebServer) -> None:
    if server.wait_ready(30):
        print(f"callfleet web: dashboard at {server.address} (fleet at {server.url}"
              f"{'; token required' if server.where.token else ''}); Ctrl-C stops",
              flush=True)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = sub.add_parser("web", help="the live dashboard of a fleet, in a browser")
    w.add_argument("--bind", default="127.0.0.1:8089", metavar="HOST:PORT",
                   help="where to listen; off loopback a token is required")
    w.add_argument("--coordinator", default=DEFAULT_CLIENTS, help="coordinator clients URL")
    w.add_argument("--token-file", default="", metavar="FILE",
                   help=f"the token every request must carry (default: ${TOKEN_ENV}; none on "
                        "loopback)")
    w.add_argument("--read-only", action="store_true",
                   help="no control from the page, whatever the key allows")
    curve.add_options(w)
    w.set_defaults(func=cmd_web)


def add_beside_option(p: argparse.ArgumentParser, what: str) -> None:
    """``--web [HOST:]PORT`` of ``up`` and ``load``."""
    p.add_argument("--web", default="", metavar="[HOST:]PORT",
                   help=f"serve the live dashboard of {what} here (loopback unless a host is "
                        f"given; off loopback ${TOKEN_ENV} is required)")


def check_beside(args: argparse.Namespace) -> Plan | None:
    """``--web`` of ``up`` and ``load``, checked before anything starts (None: not asked)."""
    return plan(args.web) if getattr(args, "web", "") else None


def start_beside(where: Plan | None, url: str, keys: curve.ClientKeys | None,
                 say: Callable[[str], object]) -> WebServer | None:
    """The dashboard in a thread beside what ``up`` or ``load`` runs; a dashboard that cannot
    start is said, and the rest goes on without it."""
    if where is None:
        return None
    server = WebServer(where, url, keys)
    try:
        server.start()
    except Unusable as exc:
        say(f"no dashboard: {exc}")
        return None
    say(f"dashboard at {server.address}")
    return server
