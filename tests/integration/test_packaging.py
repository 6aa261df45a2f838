"""The base install (no extras) is a complete client: installed into a fresh venv, without
pjsua2 or supervisor, it drives a fleet started from this venv; the commands that need an extra
say which."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from coordinator.client import Lib

ROOT = Path(__file__).resolve().parents[2]

CLIENT = """
import importlib.util, sys, threading
assert importlib.util.find_spec("pjsua2") is None, "the base install has no pjsua2"
assert importlib.util.find_spec("supervisor") is None, "nor supervisor"
from coordinator.client import CallCallback, Lib

class Up(CallCallback):
    def __init__(self):
        super().__init__()
        self.confirmed, self.done = threading.Event(), threading.Event()
    def on_state(self):
        state = self.call.info().state
        if state == "CONFIRMED":
            self.confirmed.set()
        if state == "DISCONNECTED":
            self.done.set()

lib = Lib.connect(sys.argv[1])
try:
    bob = lib.create_account("sip:bob@127.0.0.1", auto_answer=200)
    alice = lib.create_account("sip:alice@127.0.0.1")
    up = Up()
    call = alice.make_call(bob.contact, cb=up)
    assert up.confirmed.wait(10), "answered"
    call.hangup()
    assert up.done.wait(10), "ended"
    print("ANSWERED on", call.agent, "of", len(lib.agents()), "agents")
finally:
    lib.destroy()
"""


def test_the_base_install_drives_a_fleet_without_pjsua2(tmp_path: Path) -> None:
    env_dir = tmp_path / "base"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    install = subprocess.run([str(py), "-m", "pip", "install", "-q", str(ROOT)],
                             capture_output=True, text=True, timeout=600,
                             stdin=subprocess.DEVNULL)
    assert install.returncode == 0, install.stdout + install.stderr
    lib = Lib.start_local(agents=2)
    try:
        out = subprocess.run([str(py), "-c", CLIENT, lib.url], capture_output=True, text=True,
                             timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "ANSWERED on" in out.stdout and "of 2 agents" in out.stdout
    finally:
        lib.destroy()
    # what needs an extra says which, in one line
    callfleet = str(env_dir / "bin" / "callfleet")
    agent = subprocess.run([callfleet, "agent"], capture_output=True, text=True, timeout=30,
                           cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert agent.returncode == 2 and "pip install 'callfleet[agent]'" in agent.stderr, agent
    up = subprocess.run([callfleet, "up"], capture_output=True, text=True, timeout=30,
                        cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert up.returncode == 2 and "pip install 'callfleet[agent,deploy]'" in up.stderr, up
    assert len(up.stderr.strip().splitlines()) == 1 and sys.executable != str(py)
    web = subprocess.run([callfleet, "web"], capture_output=True, text=True, timeout=30,
                         cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert web.returncode == 2 and "pip install 'callfleet[report,web]'" in web.stderr, web
    assert len(web.stderr.strip().splitlines()) == 1
