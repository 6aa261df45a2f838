"""Round robin of the calls of an account that lives on every agent (pure placement)."""

from __future__ import annotations

from coordinator.server.placement import AgentLoad
from coordinator.server.replicas import place_spread


def load(name: str, calls: int = 0, alive: bool = True) -> AgentLoad:
    return AgentLoad(name, 4, calls, 48, alive=alive)


def test_turns_go_round_robin_by_name() -> None:
    agents = [load("b"), load("a"), load("c")]
    reps = {"a", "b", "c"}
    assert [place_spread(agents, reps, t) for t in range(5)] == ["a", "b", "c", "a", "b"]


def test_only_replicas_with_a_free_slot_and_not_excluded() -> None:
    agents = [load("a", calls=4), load("b"), load("c", alive=False), load("d")]
    assert [place_spread(agents, {"a", "b", "c"}, t) for t in range(3)] == ["b"] * 3
    assert place_spread(agents, {"a", "b", "d"}, 0, exclude={"b"}) == "d"
    assert place_spread(agents, {"a", "c"}, 0) is None
    assert place_spread(agents, set(), 7) is None
