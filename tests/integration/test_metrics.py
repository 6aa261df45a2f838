"""The coordinator's Prometheus /metrics endpoint, scraped over real HTTP on loopback."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from coordinator.client import Lib


def _scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_show_the_fleet_and_load_counters() -> None:
    lib = Lib.start_local(agents=2, coordinator_args=["--metrics-port", "0"])
    try:
        assert lib.fleet is not None and lib.fleet.metrics_url.startswith("http://127.0.0.1:")
        before = _scrape(lib.fleet.metrics_url)
        assert before["callfleet_agents"] == 2 and before["callfleet_call_slots"] == 8
        assert before['callfleet_load_calls_total{outcome="answered"}'] == 0
        report = lib.run_load({"rate": 8, "calls": 6, "hold": "0.2", "self": True}, timeout=60)
        assert report["answered"] == 6
        after = _scrape(lib.fleet.metrics_url)
        assert after['callfleet_load_calls_total{outcome="started"}'] == 6
        assert after['callfleet_load_calls_total{outcome="answered"}'] == 6
        assert after['callfleet_load_calls_total{outcome="failed"}'] == 0
        assert after['callfleet_load_setup_seconds_bucket{le="+Inf"}'] == 6
        assert after["callfleet_load_setup_seconds_count"] == 6
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(lib.fleet.metrics_url.replace("/metrics", "/other"), timeout=5)
        assert exc.value.code == 404
    finally:
        lib.destroy()
    assert set(lib.exit_codes.values()) == {0}
