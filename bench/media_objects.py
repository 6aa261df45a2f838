"""What media objects cost one agent: the round trip of creating and destroying one (client ->
coordinator -> agent and back), and the agent's CPU and memory with its whole budget of media
objects busy (tone generators playing into WAV recorders) against the same agent idle. Prints
figures; asserts nothing.

    python bench/media_objects.py [--cycles 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from idle import measure, rss_mb  # bench/idle.py: CPU and RSS of a process from /proc

from coordinator.client import Lib

#: agent.media_objects.MAX_MEDIA_OBJECTS: half tones, half recorders
BUDGET = 16


def ms(samples: list[float], q: float) -> float:
    return 1000 * sorted(samples)[min(len(samples) - 1, int(q * len(samples)))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--cycles", type=int, default=200, help="create+destroy cycles (<= 5000)")
    p.add_argument("--seconds", type=float, default=5.0, help="CPU sampling window (<= 60)")
    a = p.parse_args()
    cycles, seconds = min(a.cycles, 5000), min(a.seconds, 60.0)
    lib = Lib.start_local(agents=1)
    try:
        assert lib.fleet is not None
        pid = lib.fleet.agents[0].pid
        agent = lib.agents()[0]["name"]
        with tempfile.TemporaryDirectory() as tmp:
            create: list[float] = []
            destroy: list[float] = []
            for i in range(cycles):
                t0 = time.perf_counter()
                gid = (lib.create_tone(1000, agent=agent) if i % 2 else
                       lib.create_recorder(f"{tmp}/r{i}.wav", agent=agent))
                t1 = time.perf_counter()
                lib.tone_destroy(gid)
                create.append(t1 - t0)
                destroy.append(time.perf_counter() - t1)
            print(f"create (tone/recorder, alternating) x{cycles}: p50 {ms(create, 0.5):.2f} ms, "
                  f"p99 {ms(create, 0.99):.2f} ms, mean {1000 * statistics.mean(create):.2f} ms")
            print(f"destroy x{cycles}: p50 {ms(destroy, 0.5):.2f} ms, "
                  f"p99 {ms(destroy, 0.99):.2f} ms")
            idle_cpu, idle_rss = measure([pid], seconds), rss_mb(pid)
            made = []
            for i in range(BUDGET // 2):
                tone = lib.create_tone(400 + 100 * i, agent=agent)
                rec = lib.create_recorder(f"{tmp}/busy{i}.wav", agent=agent)
                lib.conf_connect(tone, rec)
                made += [tone, rec]
            busy_cpu, busy_rss = measure([pid], seconds), rss_mb(pid)
            for gid in made:
                lib.tone_destroy(gid)
            print(f"agent idle: CPU {idle_cpu:.1f}% of a core, RSS {idle_rss:.1f} MB")
            print(f"agent with {BUDGET // 2} tones recorded by {BUDGET // 2} recorders: CPU "
                  f"{busy_cpu:.1f}% of a core ({busy_cpu - idle_cpu:+.2f} points), RSS "
                  f"{busy_rss:.1f} MB")
    finally:
        lib.destroy()


if __name__ == "__main__":
    main()
