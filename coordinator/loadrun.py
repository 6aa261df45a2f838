"""`callfleet run`: the main job on an embedded fleet (a short self-answered call run + summary)."""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter

from coordinator.client import Call, CallCallback, Error, Lib


class _Track(CallCallback):
    def __init__(self, t0: float, hold: float, done: threading.Semaphore) -> None:
        super().__init__()
        self.t0 = t0
        self.hold = hold
        self.done = done
        self.setup: float | None = None
        self.code = 0

    def on_state(self) -> None:
        assert self.call is not None
        i = self.call.info()
        if i.state == "CONFIRMED" and self.setup is None:
            self.setup = time.monotonic() - self.t0
            threading.Timer(self.hold, self._hangup).start()
        if i.state == "DISCONNECTED":
            self.code = i.last_code
            self.done.release()

    def _hangup(self) -> None:
        assert self.call is not None
        try:
            self.call.hangup()
        except Error:
            pass  # ended meanwhile


def cmd_run(args: argparse.Namespace) -> int:
    print(f"callfleet run: embedded fleet of {args.agents} agents, {args.calls} calls at "
          f"{args.rate}/s, hold {args.hold}s", flush=True)
    lib = Lib.start_local(agents=args.agents)
    try:
        answerers = [lib.create_account(f"sip:answer{i}@127.0.0.1", auto_answer=200)
                     for i in range(args.agents)]
        caller = lib.create_account("sip:caller@127.0.0.1")
        done = threading.Semaphore(0)
        tracks: list[_Track] = []
        failed: Counter[str] = Counter()
        t_start = time.monotonic()
        for n in range(args.calls):
            due = t_start + n / args.rate
            time.sleep(max(0.0, due - time.monotonic()))
            target = answerers[n % len(answerers)].contact
            tr = _Track(time.monotonic(), args.hold, done)
            try:
                call: Call = caller.make_call(target, cb=tr)
            except Error as exc:
                failed[exc.err_code] += 1
                continue
            assert call is not None
            tracks.append(tr)
        for _ in tracks:
            done.acquire(timeout=args.hold + 30)
        elapsed = time.monotonic() - t_start
        setups = sorted(t.setup * 1000 for t in tracks if t.setup is not None)
        answered = len(setups)
        for t in tracks:
            if t.setup is None:
                failed[f"SIP {t.code}"] += 1
        print(f"attempted {args.calls}  answered {answered}  failed {sum(failed.values())} "
              f"{dict(failed) or ''}  in {elapsed:.1f}s")
        if setups:
            q = statistics.quantiles(setups, n=100, method="inclusive") if len(setups) > 1 else setups * 99
            print(f"setup time ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  max {setups[-1]:.1f}")
        return 0 if answered == args.calls else 1
    finally:
        lib.destroy()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    r = sub.add_parser("run", help="the main job: a short call run on an embedded local fleet")
    r.add_argument("--agents", type=int, default=4)
    r.add_argument("--calls", type=int, default=40)
    r.add_argument("--rate", type=float, default=5.0)
    r.add_argument("--hold", type=float, default=1.0)
    r.set_defaults(func=cmd_run)
