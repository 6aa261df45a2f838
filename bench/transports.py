"""Call setup over UDP, TCP and TLS between two agents. A benchmark: it prints figures, asserts
nothing.

Starts an embedded fleet of two agents listening on UDP, TCP and TLS (a throw-away certificate
made with ``openssl req -x509``), binds one account per agent to each transport, and makes
``--calls`` sequential calls per transport, each answered at once and hung up once confirmed
(0.12 s apart).
Prints per transport the setup time (call.make until the caller's CONFIRMED event reaches the
client) and the agents' open descriptors afterwards (listeners and kept-alive connections).

    python bench/transports.py [--calls 30]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from coordinator.client import Call, CallCallback, Lib


class Timed(CallCallback):
    def __init__(self) -> None:
        super().__init__()
        self.confirmed = threading.Event()
        self.ended = threading.Event()

    def on_state(self) -> None:
        assert self.call is not None
        state = self.call.info().state
        if state == "CONFIRMED":
            self.confirmed.set()
        elif state == "DISCONNECTED":
            self.confirmed.set()
            self.ended.set()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def run(calls: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True)
        lib = Lib.start_local(agents=2, agent_args=["--transports", "udp,tcp,tls", "--tls-cert",
                                                    str(cert), "--tls-key", str(key)])
        try:
            assert lib.fleet is not None
            pids = [p.pid for p in lib.fleet.agents]
            print(f"{'transport':<10}{'calls':>6}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}"
                  f"{'first ms':>10}{'agent fds':>11}")
            for kind in ("udp", "tcp", "tls"):
                ts = sorted((t for t in lib.transports() if t.type == kind),
                            key=lambda t: t.agent)
                caller = lib.create_account_for_transport(ts[0], user=f"a{kind}")
                callee = lib.create_account_for_transport(ts[1], user=f"b{kind}",
                                                          auto_answer=200)
                setups: list[float] = []
                for _ in range(calls):
                    cb = Timed()
                    t0 = time.perf_counter()
                    call: Call = caller.make_call(callee.contact, cb=cb)
                    if not cb.confirmed.wait(10):
                        raise RuntimeError(f"{kind}: a call was not answered")
                    setups.append((time.perf_counter() - t0) * 1000)
                    call.hangup()
                    cb.ended.wait(10)
                    # an agent counts an ended call's slot busy for 0.1 s (agent.state), and
                    # an account bound to a transport has no other agent to call from
                    time.sleep(0.12)
                ms = setups[1:] or setups
                print(f"{kind:<10}{len(setups):>6}{percentile(ms, 50):>9.2f}"
                      f"{percentile(ms, 90):>9.2f}{max(ms):>9.2f}{setups[0]:>10.2f}"
                      f"{'/'.join(str(fds(p)) for p in pids):>11}")
                caller.delete()
                callee.delete()
        finally:
            lib.destroy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--calls", type=int, default=30, help="sequential calls per transport")
    run(p.parse_args().calls)


if __name__ == "__main__":
    main()
