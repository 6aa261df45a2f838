"""Idle cost of agents: CPU per idle agent (from /proc) next to a raw pjsua2 process that only
polls; then where an idle agent's CPU goes, thread by thread (the agent's own loop, PJSIP's
media worker, the sound device's clock, ZeroMQ's), and how often its loop turns; then memory
(RSS, PSS and USS from /proc/PID/smaps_rollup) and start time of agents forked from the fork
server (embedded fleets' default) and of agents each started as a fresh interpreter, next to a
raw pjsua2 process. Prints figures; asserts nothing.

    python bench/idle.py [--agents 8] [--seconds 10] [--start 32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from coordinator.client import Lib

RAW = """
import time, pjsua2 as pj
ep = pj.Endpoint(); ep.libCreate()
c = pj.EpConfig(); c.uaConfig.threadCnt = 0; c.uaConfig.mainThreadOnly = True
c.logConfig.level = 0; c.logConfig.consoleLevel = 0
ep.libInit(c); t = pj.TransportConfig(); t.port = 0
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, t); ep.libStart(); ep.audDevManager().setNullDev()
end = time.monotonic() + {seconds}
while time.monotonic() < end:
    ep.libHandleEvents({poll_ms})
ep.libDestroy()
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory_mb(pid: int) -> tuple[float, float, float]:
    """RSS, PSS and USS (private clean + dirty) of a process, in MB."""
    kb: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                kb[parts[0].rstrip(":")] = int(parts[1])
    return (kb["Rss"] / 1024, kb["Pss"] / 1024,
            (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024)


def starts(n: int, fork: bool) -> tuple[float, float, tuple[float, float, float]]:
    """On a fleet started with no agent: seconds until its first agent is listed (for a forked
    fleet, the fork server's preparation included), then until ``n`` more are; and the mean
    (RSS, PSS, USS) of the n + 1 agents, all of them up."""
    lib = Lib.start_local(agents=0, fork=fork)
    try:
        assert lib.fleet is not None
        t0 = time.monotonic()
        lib.fleet.add_agent(f"{lib.fleet.tag}-first")
        lib.wait_agents(1, 30)
        first = time.monotonic() - t0
        t1 = time.monotonic()
        for i in range(n):
            lib.fleet.add_agent(f"{lib.fleet.tag}-{i + 1}")
        lib.wait_agents(n + 1, 60)
        rest = time.monotonic() - t1
        time.sleep(1.0)
        mems = [memory_mb(p.pid) for p in lib.fleet.agents]
    finally:
        lib.destroy()
    mean = tuple(sum(m[k] for m in mems) / len(mems) for k in range(3))
    return first, rest, (mean[0], mean[1], mean[2])


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds by thread name (threads of one name added up)."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        name = head.split("(", 1)[1]
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def measure(pids: list[int], seconds: float) -> float:
    """Mean CPU share (percent of one core) per process over ``seconds``."""
    start = [cpu_seconds(p) for p in pids]
    time.sleep(seconds)
    used = [cpu_seconds(p) - s for p, s in zip(pids, start, strict=True)]
    return 100 * sum(used) / len(pids) / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--agents", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--start", type=int, default=32, help="agents started for the start times")
    args = ap.parse_args()
    lib = Lib.start_local(agents=args.agents)
    try:
        time.sleep(1.0)  # let start-up settle
        assert lib.fleet is not None
        pids = [p.pid for p in lib.fleet.agents]
        threads0 = [thread_cpu(p) for p in pids]
        turns0 = sum(a.get("wakeups", 0) for a in lib.agents())
        agent_cpu = measure(pids, args.seconds)
        turns = (sum(a.get("wakeups", 0) for a in lib.agents()) - turns0) / len(pids) / args.seconds
        by_thread: dict[str, float] = {}
        for pid, before in zip(pids, threads0, strict=True):
            for name, used in thread_cpu(pid).items():
                by_thread[name] = by_thread.get(name, 0.0) + used - before.get(name, 0.0)
        agent_rss = sum(rss_mb(p) for p in pids) / len(pids)
        assert lib.fleet.coordinator is not None
        coord_cpu = measure([lib.fleet.coordinator.pid], 2.0)
    finally:
        lib.destroy()
    print(f"idle agents: {args.agents}, {args.seconds:g} s")
    print(f"callfleet agent: {agent_cpu:.2f}% of a core each, {agent_rss:.1f} MB RSS each; "
          f"coordinator {coord_cpu:.2f}%")
    share = {n: 100 * s / len(pids) / args.seconds for n, s in by_thread.items()}
    print("  by thread, % of a core per agent: " + ", ".join(
        f"{'loop (python)' if n == 'python' else n} {v:.2f}"
        for n, v in sorted(share.items(), key=lambda kv: -kv[1]) if v >= 0.005))
    print(f"  the agent's loop turned {turns:.1f} times a second (its heartbeats' wakeups)")
    raw_mem = (0.0, 0.0, 0.0)
    for poll_ms in (10, 20):
        raw = subprocess.Popen([sys.executable, "-c",
                                RAW.format(seconds=args.seconds + 2, poll_ms=poll_ms)],
                               stdout=subprocess.DEVNULL)
        time.sleep(1.0)
        raw_cpu = measure([raw.pid], args.seconds)
        raw_rss = rss_mb(raw.pid)
        raw_mem = memory_mb(raw.pid)
        raw.wait()
        print(f"raw pjsua2 polling every {poll_ms} ms: {raw_cpu:.2f}% of a core, "
              f"{raw_rss:.1f} MB RSS; ratio callfleet/raw {agent_cpu / max(raw_cpu, 1e-9):.2f}x")
    print(f"memory and start, {args.start} agents after a first one (each on a fleet of its own):")
    print(f"  {'':<34}{'RSS MB':>8}{'PSS MB':>8}{'USS MB':>8}{'first agent s':>15}"
          f"{f'{args.start} more s':>12}{'ms each':>9}")
    for label, fork in (("forked from the fork server", True),
                        ("fresh interpreter each", False)):
        first, rest, (rss, pss, uss) = starts(args.start, fork)
        print(f"  {label:<34}{rss:>8.1f}{pss:>8.1f}{uss:>8.1f}{first:>15.2f}{rest:>12.2f}"
              f"{1000 * rest / args.start:>9.0f}")
    print(f"  {'raw pjsua2 process (polling)':<34}{raw_mem[0]:>8.1f}{raw_mem[1]:>8.1f}"
          f"{raw_mem[2]:>8.1f}")


if __name__ == "__main__":
    main()
