"""RTP port spans of embedded fleets (pure parts of coordinator.fleet)."""

from __future__ import annotations

import random

from agent import endpoint
from coordinator.client.fleet import RTP_HIGH, RTP_LOW, RTP_SPAN, LocalFleet, rtp_port_base


def test_span_matches_the_agent() -> None:
    assert RTP_SPAN == endpoint.RTP_SPAN


def test_bases_leave_room_for_every_agent_below_the_ephemeral_range() -> None:
    rng = random.Random(7)
    for agents in (1, 64, 200):
        for _ in range(500):
            base = rtp_port_base(agents, rng)
            assert base >= RTP_LOW and base + agents * RTP_SPAN <= RTP_HIGH
            assert (base - RTP_LOW) % RTP_SPAN == 0


def test_agents_args_that_choose_ports_win() -> None:
    assert LocalFleet(2, agent_args=["--rtp-port-base", "40000"])._rtp_base == 0
    assert LocalFleet(2)._rtp_base >= RTP_LOW
