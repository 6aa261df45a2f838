"""What the live dashboard costs while a load run goes as fast as this machine allows. A
benchmark: it prints figures, asserts nothing.

For each rate asked: a fresh embedded fleet of signalling-only agents (--audio none) calls a
SIPp UAS that hangs up on answer (as bench/cps.py does); ``callfleet web`` runs as its own
process and headless Chromium (Selenium, Debian's chromium-driver) shows the run's page for the
whole run. Printed per step: the rate achieved and the failures (the run's report); the CPU of
the web process, of the coordinator and of the browser (all its processes) over the run, in %
of one core; and the update delay the browser saw: for each update that brought a new row, the
browser's clock at receipt minus the coordinator's timestamp of that row (same host, same
clock; the coordinator makes a row each second, the web process sends a batch each second).

    python bench/web.py [--rates 300,600,1000] [--agents 32] [--seconds 20] [--compare]

``--compare`` runs each rate again with the web process but no page open, and with neither (the
rate the fleet reaches then, and the coordinator's CPU).
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from coordinator.client import Lib

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def descendants(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    kids.setdefault(int(f.read().rsplit(")", 1)[1].split()[1]), []).append(
                        int(entry))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@contextmanager
def web_process(url: str) -> Iterator[tuple[int, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "coordinator.cli", "web", "--coordinator", url,
                             "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    try:
        address = ""
        while not address and select.select([proc.stdout], [], [], 30)[0]:
            line = proc.stdout.readline()
            if not line:
                break
            if "dashboard at " in line:
                address = line.split("dashboard at ", 1)[1].split()[0]
        if not address:
            raise RuntimeError("callfleet web did not start")
        yield proc.pid, address
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        proc.stdout.close()


@contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1440,1800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def step(rate: float, agents: int, seconds: float, target: str, mode: str) -> dict[str, Any]:
    """One run; ``mode``: "page" (the web process and Chromium on the run's page), "web" (the
    web process alone, no page open) or "none"."""
    lib = Lib.start_local(agents=agents, agent_args=["--audio", "none"],
                          coordinator_args=["--log-level", "warning"])
    try:
        assert lib.fleet is not None and lib.fleet.coordinator is not None
        pids: list[list[int]] = [[], [lib.fleet.coordinator.pid], []]
        with ExitStack() as stack:
            driver = None
            if mode != "none":
                web_pid, address = stack.enter_context(web_process(lib.url))
                pids[0] = [web_pid]
            if mode == "page":
                driver = stack.enter_context(chromium())
                driver.get(address)
                time.sleep(2.0)  # the page connected and settled (its first updates)
                pids[2] = descendants(driver.service.process.pid)
            watch = lib.start_load({"rate": rate, "duration": seconds, "hold": "0",
                                    "targets": [target]})
            if driver is not None:
                driver.execute_script(f"location.hash = '#/run/{watch.run}'")
            t0, before = time.monotonic(), [cpu_s(p) for p in pids]
            if not watch.finished.wait(seconds + 60):
                raise RuntimeError("the run did not end")
            wall, after = time.monotonic() - t0, [cpu_s(p) for p in pids]
            delays: list[float] = []
            if driver is not None:
                time.sleep(1.5)  # the last update reaches the page
                delays = driver.execute_script("return window.callfleetDashboard.delays")
    finally:
        lib.destroy()
    r = watch.report
    assert r is not None
    use = [100 * (a - b) / wall for a, b in zip(after, before, strict=True)]
    return {"rate": rate, "achieved": r["achieved_rate"], "attempted": r["attempted"],
            "failed": r["failed"], "codes": r["failed_by_code"], "web": use[0],
            "coordinator": use[1], "browser": use[2], "delays": sorted(delays), "mode": mode}


def show(s: dict[str, Any]) -> None:
    d = s["delays"]
    delay = (f"delay p50 {1000 * statistics.median(d):.0f} ms, p95 "
             f"{1000 * d[int(0.95 * (len(d) - 1))]:.0f} ms, max {1000 * d[-1]:.0f} ms "
             f"({len(d)} updates)") if d else "no update measured"
    who = {"page": "web + page", "web": "web, no page", "none": "no dashboard"}[s["mode"]]
    print(f"  {who:<13} asked {s['rate']:6.0f}/s  achieved {s['achieved']:7.1f}/s  attempted "
          f"{s['attempted']:6d}  failed {s['failed']} {s['codes'] or ''}\n"
          f"      CPU (% of a core): web {s['web']:5.1f}  coordinator {s['coordinator']:5.1f}  "
          f"browser {s['browser']:5.1f};  {delay}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="300,600,1000", help="rates to ask, calls/s")
    ap.add_argument("--agents", type=int, default=32, help="agents of each fleet")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each run")
    ap.add_argument("--compare", action="store_true",
                    help="also run each rate with the web process but no page open, and with "
                         "neither")
    args = ap.parse_args()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp(prefix="callfleet-bench-web-")
    uas = subprocess.Popen(["sipp", "-sn", "uas", "-p", str(port), "-i", "127.0.0.1", "-nostdin"],
                           cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)
    print(f"dashboard cost: {args.agents} agents (--audio none) -> SIPp UAS, {args.seconds:g} s "
          f"per run, a fresh fleet per run, Chromium on the run's page throughout; {os.cpu_count()} "
          "cores", flush=True)
    try:
        time.sleep(0.5)
        for rate in (float(r) for r in args.rates.split(",")):
            for mode in ("page", "web", "none") if args.compare else ("page",):
                show(step(rate, args.agents, args.seconds, f"sip:service@127.0.0.1:{port}",
                          mode))
    finally:
        uas.terminate()
        uas.wait(5)


if __name__ == "__main__":
    main()
