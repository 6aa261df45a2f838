"""Who may use the dashboard, and the dashboard beside `up` and `load`: a read-only key gives a
page without control (and the server refuses control too); a bind off loopback without a token
is refused; a token is asked for by bearer or login form; control requests need the CSRF token
and the page's own origin; `load --web` and `up --web` serve it beside what they start."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq.auth

from coordinator.client import Lib
from tests.browser import (
    Http,
    attr,
    chromium,
    console_errors,
    counter,
    needs_chromium,
    text,
    web_process,
)
from tests.helpers import free_tcp_port, stop, wait_for

CLI = [sys.executable, "-m", "coordinator.cli"]


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[tuple[Lib, list[str]]]:
    """A fleet with CURVE keys and a read-only key for the dashboard: (full client, web keys)."""
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    _, secret = zmq.auth.create_certificates(readonly, "dashboard")
    lib = Lib.start_local(agents=1, curve=True, coordinator_args=["--readonly-keys", str(readonly)])
    try:
        assert lib.fleet is not None and lib.fleet._keydir is not None
        server = Path(lib.fleet._keydir.name) / "coordinator" / "coordinator.key"
        yield lib, ["--server-key", str(server), "--key", str(secret)]
    finally:
        lib.destroy()


@needs_chromium
def test_a_read_only_key_gets_a_page_without_control(keyed: tuple[Lib, list[str]]) -> None:
    lib, keys = keyed
    watch = lib.start_load({"rate": 2, "duration": 600, "hold": "0.3", "self": True})
    try:
        with web_process(lib.url, *keys) as web, chromium() as driver:
            driver.get(f"{web.address}#/run/{watch.run}")
            wait_for(lambda: text(driver, "#role") == "read-only", 15, "the read-only role")
            wait_for(lambda: (counter(driver, "attempted") or 0) > 0, 20,
                     "another client's run on the read-only page")
            for control in ("#stop-button", "#rate-button", "#start-panel"):
                assert not driver.execute_script(
                    f"return document.querySelector('{control}').checkVisibility()"), control
            csrf = attr(driver, 'meta[name="csrf"]', "content")
            headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
            for path, body in ((f"/api/runs/{watch.run}/stop", {}),
                               (f"/api/runs/{watch.run}/rate", {"rate": 9}),
                               ("/api/runs", {"rate": "1", "calls": "1"})):
                status, reply, _ = web.request(path, body, headers)
                assert status == 403 and "read-only" in reply, (path, status, reply)
            assert [r["run"] for r in lib.status()["loads"]] == [watch.run]  # still running
            assert lib.status()["loads"][0]["target_rate"] == 2
            assert console_errors(driver) == []
    finally:
        lib.stop_load(watch.run)
        assert watch.finished.wait(20)


def _web(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "web", *argv], capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


def test_a_bind_off_loopback_without_a_token_is_refused(tmp_path: Path) -> None:
    env = {"CALLFLEET_WEB_TOKEN": ""}
    for bind in ("0.0.0.0:0", "[::]:0"):
        out = _web("--bind", bind, env=env)
        assert out.returncode == 2 and "without a token" in out.stderr, out
        assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""
    (tmp_path / "empty").write_text("\n")
    out = _web("--bind", "0.0.0.0:0", "--token-file", str(tmp_path / "empty"), env=env)
    assert out.returncode == 2 and "empty" in out.stderr
    with socket.socket() as holder:  # a port another program holds: one line, exit 2
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        out = _web("--bind", f"127.0.0.1:{taken}")
        assert out.returncode == 2 and f"127.0.0.1:{taken}" in out.stderr, out
        assert len(out.stderr.strip().splitlines()) == 1


def test_a_token_is_asked_for_by_bearer_or_login_form(lib: Lib) -> None:
    with web_process(lib.url, env={"CALLFLEET_WEB_TOKEN": "s3cret-token"}) as web:
        status, _, headers = web.request("/")
        assert status == 303 and headers["Location"] == "/login"
        assert web.request("/api/state")[0] == 401
        assert web.request("/api/state", headers={"Authorization": "Bearer nope"})[0] == 401
        status, body, _ = web.request("/api/state",
                                      headers={"Authorization": "Bearer s3cret-token"})
        assert status == 200 and json.loads(body)["fleet"]["connected"] in (True, False)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        wrong = web.request("/login", urllib.parse.urlencode({"token": "x"}).encode(), form)
        assert wrong[0] == 303 and wrong[2]["Location"] == "/login?wrong=1"
        right = web.request("/login", urllib.parse.urlencode({"token": "s3cret-token"}).encode(),
                            form)
        assert right[0] == 303 and right[2]["Location"] == "/"
        cookie = right[2]["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in right[2]["Set-Cookie"] and "s3cret" not in cookie
        status, page, _ = web.request("/", headers={"Cookie": cookie})
        assert status == 200 and "callfleet" in page and "s3cret" not in page
        assert web.request("/static/app.js")[0] == 200  # the script is no secret


def test_control_needs_the_csrf_token_and_the_pages_origin(lib: Lib) -> None:
    with web_process(lib.url) as web:
        status, page, _ = web.request("/")
        csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
        own = web.address.rstrip("/")
        json_type = {"Content-Type": "application/json"}
        assert web.request("/api/runs/L9/stop", {}, json_type)[0] == 403
        assert web.request("/api/runs/L9/stop", {}, {**json_type, "X-CSRF-Token": "x"})[0] == 403
        evil = {**json_type, "X-CSRF-Token": csrf, "Origin": "http://evil.example"}
        assert web.request("/api/runs/L9/stop", {}, evil)[0] == 403
        wait_for(lambda: web.state()["role"]["read_only"] is False, 10, "the role")
        status, body, _ = web.request("/api/runs/L9/stop", {},
                                      {**json_type, "X-CSRF-Token": csrf, "Origin": own})
        assert status == 404 and "E_NOT_FOUND" in body  # through the guards, to the fleet
        status, body, _ = web.request("/api/runs", {"rate": "1", "calls": "1", "hold": "bad"},
                                      {**json_type, "X-CSRF-Token": csrf})
        assert status == 400 and "bad distribution" in body
        assert web.request("/", headers={"Host": "attacker.example"})[0] == 403
        upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "http://evil.example"}
        assert web.request("/ws", headers=upgrade)[0] == 403
        assert "script-src 'self'" in web.request("/")[2]["Content-Security-Policy"]


def _announced(stream: object, deadline: float) -> str:
    while time.monotonic() < deadline:
        if select.select([stream], [], [], 0.2)[0]:
            line = stream.readline()  # type: ignore[attr-defined]
            if "dashboard at " in line:
                return str(line.split("dashboard at ", 1)[1].split()[0])
    raise AssertionError("no dashboard announced")


def test_load_web_serves_the_run_it_makes(tmp_path: Path) -> None:
    load = subprocess.Popen([*CLI, "load", "--embedded", "--agents", "2", "--self", "-r", "4",
                             "--duration", "6", "-d", "0.3", "--quiet", "--web", "127.0.0.1:0"],
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        address = _announced(load.stderr, time.monotonic() + 40)
        probe = Http(address)
        wait_for(lambda: any(r["attempted"] > 0 for r in probe.state()["runs"]), 20,
                 "the run on load's own dashboard")
        assert probe.state()["fleet"]["totals"]["agents"] == 2
        assert load.wait(60) == 0
    finally:
        if load.poll() is None:
            load.kill()
        load.wait(10)
        assert load.stderr is not None
        load.stderr.close()


def test_up_web_serves_the_fleet_it_starts(tmp_path: Path) -> None:
    urls = {k: f"tcp://127.0.0.1:{free_tcp_port()}" for k in ("agents", "clients", "events")}
    up = subprocess.Popen([*CLI, "up", "--agents", "1", "--agents-bind", urls["agents"],
                           "--clients-bind", urls["clients"], "--events-bind", urls["events"],
                           "--dir", str(tmp_path / "up"), "--web", "127.0.0.1:0"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        address = _announced(up.stdout, time.monotonic() + 30)
        probe = Http(address)
        wait_for(lambda: probe.state()["fleet"]["totals"]["agents"] == 1, 40,
                 "up's agent on its dashboard")
        assert probe.state()["fleet"]["agents"][0]["name"] == "agent-01"
    finally:
        code = stop(up, 30)  # SIGTERM, then SIGKILL after 30 s
        assert up.stdout is not None
        up.stdout.close()
    assert code == 0
