"""The interop scenario from another language: tests/interop/node/scenario.mjs drives an embedded
fleet from Node.js with the npm packages `zeromq` and `@msgpack/msgpack`, which this test
installs from the npm registry itself (pinned by tests/interop/node/package-lock.json).

`zeromq` ships its prebuilt native binding inside the npm package, so nothing is downloaded
from elsewhere; its install script (which would build from source when the binding does not
load) is not run (`--ignore-scripts`). Skipped only when node is not installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.interop.conftest import Fleet

NODE_DIR = Path(__file__).with_name("node")
FILES = ("package.json", "package-lock.json", "scenario.mjs", "curve.mjs")


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """A child with no stdin, as in CI (CI=true), whose output is kept for the failure message."""
    env = {**os.environ, "CI": "true", "npm_config_update_notifier": "false",
           "npm_config_fund": "false", "npm_config_audit": "false"}
    return subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def node_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """node, and a directory holding the scenario with its npm packages installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Node.js interop test needs node and npm "
                    "(e.g. the Debian packages nodejs and npm)")
    npm = shutil.which("npm")
    assert npm is not None, "node is installed but npm is not: install npm to run this test"
    work = tmp_path_factory.mktemp("node-interop")
    for name in FILES:
        shutil.copy(NODE_DIR / name, work / name)
    done = _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
                work, timeout=300)
    assert done.returncode == 0, f"npm ci failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    probe = _run([node, "-e", "console.log(require('zeromq').version)"], work, timeout=60)
    assert probe.returncode == 0, (
        "the zeromq npm package's prebuilt binding does not load on this machine "
        f"(node {_run([node, '--version'], work, 10).stdout.strip()}):\n{probe.stderr}")
    return node, work


def test_node_drives_the_fleet(node_project: tuple[str, Path], fleet: Fleet) -> None:
    node, work = node_project
    run = _run([node, "scenario.mjs", fleet.clients_url, fleet.events_url], work, timeout=90)
    assert run.returncode == 0, f"the Node.js scenario failed:\n{run.stderr}\n{run.stdout}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["alice"] == ["CALLING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert summary["bob"] == ["INCOMING", "CONNECTING", "CONFIRMED", "DISCONNECTED"]
    assert summary["firehose"] >= summary["events"] > 0
    assert summary["load"]["stopped"] is True and summary["load"]["progress"] >= 2
    assert summary["load"]["attempted"] >= 1
    # the scenario sent as plain msgpack ran in the agents, every step of both legs
    assert summary["scenario"]["name"] == "node flow" and summary["scenario"]["success"] is True
    assert summary["scenario"]["steps"] == [
        ["caller", 1, "call", 2, 0], ["caller", 2, "wait", 2, 0], ["caller", 3, "dtmf", 2, 0],
        ["caller", 4, "pause", 2, 0], ["caller", 5, "hangup", 2, 0],
        ["callee", 1, "answer", 2, 0], ["callee", 2, "expect_dtmf", 2, 0]]
