"""The dashboard's one connection to the coordinator, as an ordinary client: ``lib.status`` once
a second (the agents, the live runs), a subscription to every event (``events.subscribe``,
renewed every RESUBSCRIBE_S and at once when the coordinator changed: a restarted one forgets
subscriptions), and the control requests the page sends (``load.start``, ``load.set_rate``,
``load.stop``).

Whether the page may steer is the coordinator's decision: a read-only key gets E_FORBIDDEN for
any control op. The source asks once per coordinator, with ``load.stop`` of a run id nobody
holds (a read-only client gets E_FORBIDDEN, any other E_NOT_FOUND; nothing is stopped)."""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import proto
from coordinator.cli.verdict import Criteria
from coordinator.client.connection import Connection
from coordinator.client.errors import Error
from coordinator.client.pages import every_agent
from coordinator.web.fleetstate import FleetState
from coordinator.web.runstate import RunsState
from coordinator.web.tail import Tail
from proto import ProtoError
from proto.curve import ClientKeys

log = logging.getLogger("callfleet.web")

#: seconds between two status requests
POLL_S = 1.0
#: seconds between two renewals of the subscription
RESUBSCRIBE_S = 10.0
#: the subscription's id on this connection (renewing it replaces it: no gap, no duplicate)
SUB_ID = "web"


@dataclass
class Dashboard:
    """What the page shows, under one lock: written by the source, read by the server."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    fleet: FleetState = field(default_factory=FleetState)
    runs: RunsState = field(default_factory=RunsState)
    tail: Tail = field(default_factory=Tail)
    #: None until the coordinator said
    read_only: bool | None = None
    #: why the page is read-only
    read_only_why: str = ""
    #: messages the coordinator dropped for this connection (events.gap)
    dropped: int = 0

    def on_event(self, msg: proto.Message, now: float) -> None:
        with self.lock:
            if msg.op == "events.gap":
                self.dropped += int(msg.data.get("dropped", 0))
                return
            self.tail.add(msg.op, msg.obj, msg.seq, msg.ts, msg.data)
            if msg.op == "load.progress":
                self.runs.on_progress(msg.obj, msg.data, now)
            elif msg.op == "load.done" and isinstance(msg.data.get("report"), dict):
                self.runs.on_done(msg.obj, msg.data["report"], now)

    def on_status(self, status: dict[str, Any], now: float) -> None:
        with self.lock:
            self.fleet.update(status, now)
            self.runs.on_status(status.get("loads") or [], now)


class Source:
    def __init__(self, url: str, keys: ClientKeys | None, dash: Dashboard,
                 read_only: bool = False, timeout: float = 5.0) -> None:
        self.url, self.dash, self.timeout = url, dash, timeout
        self.forced_read_only = read_only
        self.events: queue.Queue[proto.Message | None] = queue.Queue()
        self.conn = Connection(url, self.events, keys)
        self._stop = threading.Event()
        self._coordinator: str | None = None
        self._subscribed = 0.0
        self._thread = threading.Thread(target=self._loop, name="callfleet-web-source",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.events.put(None)
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
        self.conn.close()

    def request(self, op: str, args: dict[str, Any], obj: str = "") -> dict[str, Any]:
        """One request; its result, or Error (the client library's)."""
        try:
            rep = self.conn.request(op, args, self.timeout)
        except ProtoError as exc:
            raise Error(obj or exc.obj, op, exc.code, exc.msg, exc.status) from None
        if not rep.ok:
            raise Error.of_reply(rep.error or {}, obj, op)
        return rep.result

    # -- control ---------------------------------------------------------------------------
    def start_run(self, profile: dict[str, Any], criteria: Criteria) -> str:
        run = str(self.request("load.start", profile)["run"])
        with self.dash.lock:
            public = {k: v for k, v in profile.items() if k != "credentials"}
            self.dash.runs.started_here(run, public, criteria, time.time())
        return run

    def set_rate(self, run: str, rate: float) -> None:
        self.request("load.set_rate", {"run": run, "rate": rate}, obj=run)

    def stop_run(self, run: str) -> None:
        self.request("load.stop", {"run": run}, obj=run)

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        next_poll = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + POLL_S
                self._poll()
            try:
                msg = self.events.get(timeout=max(0.0, next_poll - time.monotonic()))
            except queue.Empty:
                continue
            if msg is not None:
                self.dash.on_event(msg, time.time())

    def _poll(self) -> None:
        try:
            status = self.request("lib.status", {})
            status["agents"] = every_agent(self.request, status)  # a large fleet's other pages
        except Error as exc:
            with self.dash.lock:
                self.dash.fleet.unreachable(f"{exc.err_code}: {exc.err_msg}")
            return
        cid = str(status.get("coordinator") or "")
        if cid != self._coordinator or time.monotonic() - self._subscribed > RESUBSCRIBE_S:
            self._subscribe()
            if cid != self._coordinator:
                self._learn_role()
            self._coordinator = cid
        self.dash.on_status(status, time.time())

    def _subscribe(self) -> None:
        try:
            self.request("events.subscribe", {"sub": SUB_ID, "snapshot": False})
            self._subscribed = time.monotonic()
        except Error as exc:
            log.warning("callfleet web: cannot subscribe to events: %s: %s", exc.err_code,
                        exc.err_msg)

    def _learn_role(self) -> None:
        if self.forced_read_only:
            self._set_role(True, "started with --read-only")
            return
        try:
            self.request("load.stop", {"run": f"web-probe-{secrets.token_hex(8)}"})
        except Error as exc:
            if exc.err_code == "E_FORBIDDEN":
                self._set_role(True, "this dashboard's key is read-only")
                return
        self._set_role(False, "")

    def _set_role(self, read_only: bool, why: str) -> None:
        with self.dash.lock:
            self.dash.read_only, self.dash.read_only_why = read_only, why
