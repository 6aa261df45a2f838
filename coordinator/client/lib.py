"""The client's ``Lib``, as pjsua's: connect to a coordinator (or start an embedded fleet),
create accounts, list agents and transports, run load runs; its media methods come from
``coordinator.client.media.MediaLib``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coordinator.client import scenarios
from coordinator.client.account import Account, AccountConfig
from coordinator.client.callbacks import AccountCallback
from coordinator.client.errors import Error
from coordinator.client.fleet import LocalFleet
from coordinator.client.load import LoadWatch
from coordinator.client.media import MediaLib
from coordinator.client.pages import every_agent
from coordinator.client.session import Session
from proto import ProtoError, limits
from proto.curve import ClientKeys, KeyFileError
from proto.sip_addresses import Transport

log = logging.getLogger("callfleet.client")


class _AutoLock:
    """Holds the library lock from creation until released, deleted, or the ``with`` ends."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock: threading.RLock | None = lock
        lock.acquire()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> _AutoLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


class Lib(MediaLib):
    """One connection to a callfleet coordinator (the classic pjsua ``Lib``); its media methods
    come from ``coordinator.media.MediaLib``."""

    _instance: Lib | None = None

    def __init__(self, url: str, fleet: LocalFleet | None = None, timeout: float = 15.0,
                 keys: ClientKeys | None = None, lease: float = limits.LEASE_S) -> None:
        """``lease``: seconds the coordinator keeps what this client owns once it hears nothing
        from it (this Lib renews it by itself; PROTOCOL.md section 10)."""
        self.url = url
        self.fleet = fleet
        self.timeout = timeout
        #: the connection, its requests, its objects and its callback thread
        self.session = Session(url, timeout, keys, lease)
        super().__init__(self.session)
        self.session.on_gap = lambda obj, missed: self.on_gap(obj, missed)
        #: exit status of each process of a start_local() fleet, once destroy() stopped it
        self.exit_codes: dict[str, int] = {}
        Lib._instance = self

    @property
    def callback_errors(self) -> list[BaseException]:
        """Exceptions raised by user callbacks (delivery goes on after them)."""
        return self.session.callback_errors

    @property
    def dropped_reported(self) -> int:
        """Messages the coordinator said it dropped for this connection (events.gap)."""
        return self.session.dropped_reported

    @staticmethod
    def instance() -> Lib:
        if Lib._instance is None:
            raise Error("lib", "instance", "E_NOT_FOUND", "no Lib has been created")
        return Lib._instance

    @classmethod
    def connect(cls, url: str = "tcp://127.0.0.1:5601", timeout: float = 15.0,
                server_key: str = "", key: str = "", lease: float = limits.LEASE_S) -> Lib:
        """Connect to a running coordinator; fails with E_TIMEOUT if it does not answer.
        ``lease``: seconds the coordinator keeps this client's accounts, calls, ... once it
        hears nothing from it (a crashed client's objects go after that; objects made with
        ``persistent`` stay).

        With CURVE: ``server_key`` is the coordinator's public certificate file (``.key``),
        ``key`` this client's own ``.key_secret`` file (whose public key the coordinator must
        allow). A refused key gets no reply at all: E_TIMEOUT; an unreadable file: E_BAD_ARGS."""
        try:
            keys = ClientKeys.load(server_key, key)
        except KeyFileError as exc:
            raise Error("lib", "connect", "E_BAD_ARGS", str(exc)) from None
        try:
            lib = cls(url, timeout=timeout, keys=keys, lease=lease)
        except ProtoError as exc:
            raise Error("lib", "connect", exc.code, exc.msg) from None
        try:
            lib.status()
        except Error:
            lib.destroy()
            raise
        return lib

    @classmethod
    def start_local(cls, agents: int = 2, timeout: float = 30.0,
                    agent_args: list[str] | None = None,
                    coordinator_args: list[str] | None = None, curve: bool = False,
                    fork: bool = True) -> Lib:
        """An embedded coordinator and ``agents`` agents as child processes of this one
        (``curve``: every connection with CURVE keys made for this fleet; ``fork``: agents
        forked from a prepared process, else each a fresh interpreter)."""
        fleet = LocalFleet(agents, agent_args=agent_args, coordinator_args=coordinator_args,
                           curve=curve, fork=fork)
        try:
            fleet.start(timeout)
            lib = cls(fleet.clients_url, fleet=fleet, keys=fleet.client_keys)
            lib.wait_agents(agents, timeout)
        except BaseException:
            fleet.stop()
            raise
        return lib

    def wait_agents(self, n: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            agents = self.agents()
            if len(agents) >= n:
                return agents
            if time.monotonic() > deadline:
                raise Error("lib", "wait_agents", "E_TIMEOUT",
                            f"{len(agents)} of {n} agents connected in {timeout:g} s")
            time.sleep(0.05)

    def destroy(self) -> None:
        """Disconnect; a fleet started by start_local() is stopped too."""
        self.session.close()
        if self.fleet is not None:
            self.exit_codes = self.fleet.stop()
        if Lib._instance is self:
            Lib._instance = None

    def auto_lock(self) -> _AutoLock:
        """The lock callbacks run under: hold it to keep callbacks out of a critical section."""
        return _AutoLock(self.session.lock)

    # -- requests -------------------------------------------------------------------------
    def request(self, op: str, args: dict[str, Any] | None = None,
                expires_in: float | None = None) -> dict[str, Any]:
        """Any protocol op by name (see proto/PROTOCOL.md); returns the reply's result map.
        With ``expires_in`` (seconds), a request that reaches the coordinator or its agent later
        than that is refused with E_EXPIRED instead of being executed."""
        expires = time.time() + expires_in if expires_in is not None else 0.0
        return self.session.request(op, args or {}, expires=expires)

    def agents(self) -> list[dict[str, Any]]:
        """Every agent lib.agents lists (in name order), page after page."""
        return every_agent(self.session.request)

    def status(self) -> dict[str, Any]:
        """lib.status, with every agent (its own list is lib.agents' first page)."""
        status = self.session.request("lib.status", {})
        status["agents"] = every_agent(self.session.request, status)
        return status

    def create_account(self, acc_config: str | AccountConfig, cb: AccountCallback | None = None,
                       auto_answer: int | None = None, replicas: str = "home",
                       persistent: bool = False, ring: float = 0.0) -> Account:
        """An account on the least loaded agent: a local one from an id URI, or from an
        ``AccountConfig`` (registrar, proxy, credentials). A registering account reports each
        registration to ``cb.on_reg_state()``. ``replicas="all"``: the account lives (and
        registers) on every agent, and its calls go round robin over them
        (``account.replicas`` names them). ``persistent``: the account (with its buddies, and
        the calls it receives) stays when this client's lease expires; an admin may adopt or
        delete it. ``ring``: with ``auto_answer``, seconds each incoming call rings (180) before
        the agent answers it (``set_policy(ring=)`` changes it)."""
        args: dict[str, Any] = {"replicas": "all"} if replicas == "all" else {}
        if ring:
            args["ring"] = ring
        if persistent:
            args["persistent"] = True
        if replicas not in ("home", "all"):
            raise Error("", "acc.create", "E_BAD_ARGS", "replicas must be home or all")
        if isinstance(acc_config, AccountConfig):
            auto_answer = auto_answer if auto_answer is not None else acc_config.auto_answer
            args.update(acc_config.args())
            return self._create(args.pop("uri"), args, cb, auto_answer)
        return self._create(acc_config, args, cb, auto_answer)

    def _create(self, uri: str, args: dict[str, Any], cb: AccountCallback | None,
                auto_answer: int | None) -> Account:
        gid = self.session.next_id("a")
        args = dict(args, uri=uri, acc=gid)
        if auto_answer is not None:
            args["auto_answer"] = auto_answer
        acc = Account(self, gid, uri, "", "", auto_answer)
        acc.set_callback(cb)
        self.session.accounts[gid] = acc
        try:
            r = self.session.request("acc.create", args, obj=gid)
        except Error:
            self.session.accounts.pop(gid, None)
            raise
        acc.agent, acc.contact = r["agent"], r["contact"]
        acc.replicas = r.get("replicas") or [acc.agent]
        return acc

    def transports(self) -> list[Transport]:
        """Every SIP transport every ready agent listens on (type, host, port, agent)."""
        return [Transport(t["agent"], t["type"], t["host"], t["port"])
                for t in self.session.request("lib.transports", {})["transports"]]

    def create_account_for_transport(self, transport: Transport, cb: AccountCallback | None = None,
                                     user: str = "", auto_answer: int | None = None) -> Account:
        """A local account on ``transport``'s agent, bound to it: its id is
        ``sip:[user@]host:port;transport=...`` and its requests and Contact use that transport,
        as with pjsua. Its calls stay on that agent."""
        return self._create(transport.uri(user), {"agent": transport.agent,
                                                  "transport": transport.type}, cb, auto_answer)

    # -- load runs -------------------------------------------------------------------------
    def start_load(self, profile: dict[str, Any],
                   on_progress: Callable[[dict[str, Any]], None] | None = None,
                   scenario: dict[str, Any] | str | Path | None = None,
                   data: list[dict[str, Any]] | str | Path | None = None) -> LoadWatch:
        """Start a load run (see ``load.start`` in PROTOCOL.md); returns at once. ``scenario``:
        the calls' flow, as a map or the path of a YAML or JSON file (README, Scenarios);
        ``data``: per-call variables of its caller's steps, as rows or the path of a CSV
        file."""
        try:
            if data is not None and not isinstance(data, list):
                data = scenarios.read_data(str(data))
            if scenario is not None and not isinstance(scenario, dict):
                scenario = scenarios.read(str(scenario), tuple(data[0]) if data else ())
        except scenarios.BadScenario as exc:
            raise Error("", "load.start", "E_BAD_ARGS", str(exc)) from None
        if data is not None:
            profile = dict(profile, data=data)
        if scenario is not None:
            profile = dict(profile, scenario=scenario)  # the coordinator checks it
        run = str(profile.get("run") or self.session.next_id("L"))
        watch = LoadWatch(run, on_progress, lambda: self._forget_run(run))
        self.session.loads[run] = watch
        try:
            self.session.request("load.start", dict(profile, run=run), obj=run)
        except Error:
            self.session.loads.pop(run, None)
            raise
        return watch

    def run_load(self, profile: dict[str, Any],
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 timeout: float = 3600.0,
                 scenario: dict[str, Any] | str | Path | None = None,
                 data: list[dict[str, Any]] | str | Path | None = None) -> dict[str, Any]:
        """Run a load run to its end and return its report (``scenario`` and ``data`` as for
        start_load)."""
        watch = self.start_load(profile, on_progress, scenario, data)
        if not watch.finished.wait(timeout):
            self.stop_load(watch.run)
            if not watch.finished.wait(30):
                raise Error(watch.run, "run_load", "E_TIMEOUT", "the run did not end")
        assert watch.report is not None
        return watch.report

    def _forget_run(self, run: str) -> None:
        self.session.loads.pop(run, None)

    def set_load_rate(self, run: str, rate: float) -> None:
        self.session.request("load.set_rate", {"run": run, "rate": rate}, obj=run)

    def stop_load(self, run: str) -> None:
        self.session.request("load.stop", {"run": run}, obj=run)

    # -- events ----------------------------------------------------------------------------
    @property
    def missed_events(self) -> int:
        """Events found missing from their object's ``seq`` numbering so far."""
        return self.session.seqs.missed

    def on_gap(self, obj: str, missed: int) -> None:
        """Events were lost: ``missed`` before the one just received about ``obj`` (a jump in its
        ``seq``), or, with ``obj`` empty, messages the coordinator dropped for this connection
        (its ``events.gap`` notice: events and replies, of any object). Runs on the callback
        thread; logs a warning. Override it (or assign a function) to resynchronise, e.g. with
        ``call.info()`` or an ``events.subscribe`` snapshot."""
        log.warning("callfleet: %d message(s) lost%s", missed, f" about {obj}" if obj else
                    " by the coordinator for this connection")
