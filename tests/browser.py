"""Helpers of the dashboard's tests: ``callfleet web`` as a real process, its HTTP answers, and
headless Chromium driven by Selenium (Debian's ``chromium`` and ``chromium-driver``, which
``make sysdeps`` installs; nothing is downloaded)."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
needs_chromium = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Debian's chromium and chromium-driver are not installed (make sysdeps)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class Http:
    """The dashboard's HTTP answers (redirects not followed)."""

    def __init__(self, address: str) -> None:
        self.address = address

    def request(self, path: str, body: Any = None, headers: dict[str, str] | None = None,
                method: str = "") -> tuple[int, str, dict[str, str]]:
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        req = urllib.request.Request(self.address.rstrip("/") + path, data=data,
                                     headers=headers or {}, method=method or None)
        try:
            with _OPENER.open(req, timeout=15) as rep:
                return rep.status, rep.read().decode(), dict(rep.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), dict(err.headers)

    def state(self, run: str = "") -> dict[str, Any]:
        status, text, _ = self.request(f"/api/state?run={run}" if run else "/api/state")
        assert status == 200, text
        out: dict[str, Any] = json.loads(text)
        return out


class WebProcess(Http):
    """``callfleet web`` on a free loopback port, as an operator starts it."""

    def __init__(self, url: str, *extra: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coordinator.cli", "web", "--coordinator", url,
             "--bind", "127.0.0.1:0", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})
        super().__init__(self._announced(30))

    def _announced(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.proc.stdout], [], [], 0.2)[0]:
                line = self.proc.stdout.readline()
                if "dashboard at " in line:
                    return line.split("dashboard at ", 1)[1].split()[0]
                if not line:
                    break
        self.stop()
        raise AssertionError("callfleet web did not say where it listens")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        return self.proc.returncode


@contextmanager
def web_process(url: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[WebProcess]:
    """The dashboard for the test; it must exit 0 on SIGTERM."""
    web = WebProcess(url, *extra, env=env)
    try:
        yield web
    finally:
        code = web.stop()
    assert code == 0, f"callfleet web exited {code}"


@contextmanager
def chromium(width: int = 1440, height: int = 1800) -> Iterator[Any]:
    """Headless Chromium under Selenium, its console kept (``console_errors``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: Any) -> list[str]:
    """What the page logged as errors (and uncaught exceptions) since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def text(driver: Any, css: str) -> str:
    """The text of the first element ``css`` selects ('' : none), read in one script (the page
    redraws its tables each second: an element found, then read, may be gone by then)."""
    return str(driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''",
        css))


def texts(driver: Any, css: str) -> list[str]:
    return list(driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText.trim())",
        css))


def attr(driver: Any, css: str, name: str) -> str:
    return str(driver.execute_script(
        "const e = document.querySelector(arguments[0]); "
        "return e ? (e.getAttribute(arguments[1]) || '') : ''", css, name))


def counter(driver: Any, key: str) -> float | None:
    """A counter of the page, as the page holds it (None: not shown)."""
    value = attr(driver, f'[data-counter="{key}"]', "data-value")
    return float(value) if value not in ("", "null", "undefined") else None
