"""An idle agent sleeps in PJSIP's poll and a command wakes it (agent.waker): its loop turns a
few times a second instead of fifty, and it serves every command. Counts, not timings: the
agent's own ``wakeups`` and ``woken`` figures (lib.agents)."""

from __future__ import annotations

import time

from coordinator.client import Lib
from tests.helpers import wait_for


def _figures(lib: Lib) -> dict[str, int]:
    agent = lib.agents()[0]
    return {k: int(agent.get(k, -1)) for k in ("wakeups", "woken")}


def _accounts(lib: Lib, n: int) -> None:
    for i in range(n):
        time.sleep(0.3)  # each command arrives while the agent sleeps (the scenario itself)
        acc = lib.create_account(f"sip:idle{i}@127.0.0.1")
        assert acc.agent == lib.agents()[0]["name"]
        acc.delete()


def test_an_idle_agent_sleeps_and_each_command_wakes_it(lib1: Lib) -> None:
    wait_for(lambda: _figures(lib1)["wakeups"] > 0, 10, "a heartbeat with the loop's figures")
    time.sleep(1.0)  # settled: no request of the fleet's start in flight
    before, start = _figures(lib1), time.monotonic()
    time.sleep(4.0)  # idle: what the loop does when nothing happens is what is counted
    after, took = _figures(lib1), time.monotonic() - start
    # a heartbeat each way per second (and the odd PJSIP timer); a polling loop turned ~50 a second
    assert after["wakeups"] - before["wakeups"] <= 4 * (took + 1), (before, after)
    _accounts(lib1, 10)
    wait_for(lambda: _figures(lib1)["woken"] >= after["woken"] + 5, 5,
             "the commands to have woken the sleeping agent")
    assert lib1.status()["accounts"] == 0
