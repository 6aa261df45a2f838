"""coordinator.server.placement: where accounts and calls go, case by case and against a brute force."""

from __future__ import annotations

import itertools
import random

import pytest

from coordinator.server.placement import SOCKETS_PER_CALL, AgentLoad, place_account, place_call


def agent(name: str, free: int = 4, *, capacity: int = 8, sockets: int = 48, accounts: int = 0,
          alive: bool = True, max_accounts: int = 8) -> AgentLoad:
    """An agent with ``free`` call slots left (by calls; sockets may bound it further)."""
    return AgentLoad(name, capacity, capacity - free, sockets, accounts, alive, max_accounts)


# -- free_slots ------------------------------------------------------------------------------

@pytest.mark.parametrize(("capacity", "calls", "sockets", "alive", "slots"), [
    (8, 0, 48, True, 8),
    (8, 3, 48, True, 5),
    (8, 8, 48, True, 0),
    (8, 9, 48, True, 0),       # over capacity (calls that arrived): never negative
    (8, 0, 6, True, 3),        # the socket budget bounds it
    (8, 0, 7, True, 3),        # half a call's sockets is no call
    (8, 6, 6, True, 2),        # both bounds: the smaller wins
    (8, 0, 1, True, 0),
    (8, 0, 0, True, 0),
    (8, 0, -4, True, 0),
    (0, 0, 48, True, 0),
    (8, 0, 48, False, 0),      # dead agents have no slot
    (64, 0, 48, True, 48 // SOCKETS_PER_CALL),
])
def test_free_slots(capacity: int, calls: int, sockets: int, alive: bool, slots: int) -> None:
    assert AgentLoad("a", capacity, calls, sockets, 0, alive).free_slots == slots


# -- place_account ---------------------------------------------------------------------------

def test_account_goes_to_the_agent_with_fewest_accounts() -> None:
    fleet = [agent("a", accounts=3), agent("b", accounts=1), agent("c", accounts=2)]
    assert place_account(fleet) == "b"


def test_account_tie_on_accounts_goes_to_most_free_slots() -> None:
    fleet = [agent("a", free=2, accounts=1), agent("b", free=5, accounts=1), agent("c", accounts=2)]
    assert place_account(fleet) == "b"


def test_account_tie_on_accounts_and_slots_goes_to_the_lower_name() -> None:
    fleet = [agent("b"), agent("c"), agent("a")]
    assert place_account(fleet) == "a"
    assert place_account(list(reversed(fleet))) == "a"


def test_account_slots_tie_counts_the_socket_budget() -> None:
    fleet = [agent("a", free=8, sockets=4), agent("b", free=4, sockets=48)]
    assert place_account(fleet) == "b"  # a has only 2 slots by sockets


def test_account_never_goes_to_a_dead_agent() -> None:
    fleet = [agent("a", alive=False), agent("b", accounts=5)]
    assert place_account(fleet) == "b"


@pytest.mark.parametrize(("accounts", "max_accounts", "alive", "room"), [
    (0, 8, True, True), (7, 8, True, True), (8, 8, True, False), (9, 8, True, False),
    (0, 0, True, False), (0, 8, False, False), (1023, 1024, True, True),
])
def test_account_room(accounts: int, max_accounts: int, alive: bool, room: bool) -> None:
    assert agent("a", accounts=accounts, max_accounts=max_accounts, alive=alive).account_room is room


def test_account_never_goes_to_an_agent_without_account_room() -> None:
    fleet = [agent("a", accounts=2, max_accounts=2), agent("b", accounts=3, max_accounts=4)]
    assert place_account(fleet) == "b"


def test_account_exclude_is_honoured() -> None:
    fleet = [agent("a"), agent("b", accounts=1), agent("c", accounts=2)]
    assert place_account(fleet, exclude={"a"}) == "b"
    assert place_account(fleet, exclude=["a", "b"]) == "c"
    assert place_account(fleet, exclude={"a", "b", "c"}) is None


def test_account_may_go_to_a_full_agent() -> None:
    # accounts need no call slot; a full agent with fewer accounts still gets the account
    fleet = [agent("a", free=0, accounts=0), agent("b", free=8, accounts=1)]
    assert place_account(fleet) == "a"


@pytest.mark.parametrize("fleet", [[], [agent("a", alive=False)],
                                   [agent("a", alive=False), agent("b", alive=False)],
                                   [agent("a", accounts=8), agent("b", max_accounts=0)]])
def test_account_with_no_live_agent_with_room(fleet: list[AgentLoad]) -> None:
    assert place_account(fleet) is None


# -- place_call ------------------------------------------------------------------------------

def test_call_goes_home_when_home_has_a_slot() -> None:
    fleet = [agent("a", free=8), agent("home", free=1), agent("r", free=8)]
    assert place_call(fleet, home="home", replicas={"r"}) == "home"


def test_call_goes_to_a_replica_when_home_is_full() -> None:
    fleet = [agent("a", free=8), agent("home", free=0), agent("r", free=1)]
    assert place_call(fleet, home="home", replicas={"r"}) == "r"


def test_call_goes_to_a_replica_when_home_is_dead() -> None:
    fleet = [agent("a", free=8), agent("home", alive=False), agent("r", free=1)]
    assert place_call(fleet, home="home", replicas={"r"}) == "r"


def test_call_goes_to_a_replica_when_home_is_excluded() -> None:
    fleet = [agent("a", free=8), agent("home", free=8), agent("r", free=1)]
    assert place_call(fleet, home="home", replicas={"r"}, exclude={"home"}) == "r"


def test_call_goes_to_a_replica_when_home_is_unknown() -> None:
    fleet = [agent("a", free=8), agent("r", free=1)]
    assert place_call(fleet, home="gone", replicas={"r"}) == "r"


def test_call_prefers_the_replica_with_most_free_slots() -> None:
    fleet = [agent("r1", free=2), agent("r2", free=5), agent("r3", free=3), agent("x", free=8)]
    assert place_call(fleet, home="h", replicas={"r1", "r2", "r3"}) == "r2"


def test_call_replica_ties_go_to_the_lower_name() -> None:
    fleet = [agent("r2", free=3), agent("r1", free=3), agent("r0", free=2)]
    assert place_call(fleet, home="h", replicas={"r0", "r1", "r2"}) == "r1"


def test_call_skips_full_and_dead_replicas() -> None:
    fleet = [agent("r1", free=0), agent("r2", alive=False), agent("r3", free=1),
             agent("x", free=8)]
    assert place_call(fleet, home="h", replicas=["r1", "r2", "r3"]) == "r3"


def test_call_goes_to_the_agent_with_most_free_slots_without_home_or_replica() -> None:
    fleet = [agent("a", free=2), agent("b", free=6), agent("c", free=4)]
    assert place_call(fleet) == "b"
    assert place_call(fleet, home="gone", replicas={"also-gone"}) == "b"


def test_call_any_agent_ties_go_to_the_lower_name() -> None:
    fleet = [agent("c", free=4), agent("b", free=4), agent("a", free=1)]
    assert place_call(fleet) == "b"


def test_call_falls_back_to_any_agent_when_home_and_replicas_are_full() -> None:
    fleet = [agent("home", free=0), agent("r", free=0), agent("x", free=1)]
    assert place_call(fleet, home="home", replicas={"r"}) == "x"


def test_call_free_slots_are_bounded_by_the_socket_budget() -> None:
    fleet = [agent("a", free=8, sockets=2), agent("b", free=2, sockets=48)]
    assert place_call(fleet) == "b"  # a: one slot by sockets, b: two


def test_call_home_without_sockets_is_skipped() -> None:
    fleet = [agent("home", free=8, sockets=1), agent("x", free=1)]
    assert place_call(fleet, home="home") == "x"


def test_call_goes_home_even_when_home_has_no_account_room() -> None:
    # the home agent holds the account already: it needs no room for another
    fleet = [agent("home", free=1, accounts=8), agent("x", free=8)]
    assert place_call(fleet, home="home") == "home"
    assert place_call(fleet, home="home", replicas={"home"}) == "home"


def test_call_goes_to_a_replica_without_account_room() -> None:
    # a replica holds the account already
    fleet = [agent("r", free=1, accounts=8), agent("x", free=8)]
    assert place_call(fleet, home="h", replicas={"r"}) == "r"


def test_call_never_makes_a_replica_on_an_agent_without_account_room() -> None:
    fleet = [agent("a", free=8, accounts=8), agent("b", free=1, accounts=3, max_accounts=4)]
    assert place_call(fleet) == "b"
    assert place_call(fleet, home="h", replicas={"r"}) == "b"
    fleet = [agent("a", free=8, accounts=8), agent("b", free=1, max_accounts=0)]
    assert place_call(fleet) is None


def test_call_exclude_is_honoured_everywhere() -> None:
    fleet = [agent("home"), agent("r"), agent("x"), agent("y", free=1)]
    assert place_call(fleet, home="home", replicas={"r"}, exclude={"home", "r", "x"}) == "y"
    assert place_call(fleet, home="home", replicas={"r"},
                      exclude={"home", "r", "x", "y"}) is None


@pytest.mark.parametrize("fleet", [
    [],
    [agent("a", free=0)],
    [agent("a", free=0), agent("b", free=0, sockets=48)],
    [agent("a", free=8, sockets=1), agent("b", alive=False)],
    [agent("a", alive=False)],
])
def test_call_in_a_full_fleet_has_nowhere_to_go(fleet: list[AgentLoad]) -> None:
    assert place_call(fleet) is None
    assert place_call(fleet, home="a", replicas={"b"}) is None


def test_placement_does_not_depend_on_fleet_order() -> None:
    fleet = [agent("a", free=3), agent("b", free=3), agent("c", free=3, accounts=0),
             agent("d", free=2)]
    for order in itertools.permutations(fleet):
        assert place_call(list(order), home="x", replicas={"d", "c"}) == "c"
        assert place_call(list(order)) == "a"
        assert place_account(list(order)) == "a"


# -- brute force over small random fleets ----------------------------------------------------

def expected_call(fleet: list[AgentLoad], home: str | None, replicas: set[str],
                  exclude: set[str]) -> str | None:
    """The documented rule, spelt out by enumeration."""
    eligible = [a for a in fleet if a.alive and a.name not in exclude
                and a.capacity - a.calls > 0 and a.sockets_free >= SOCKETS_PER_CALL
                and (a.name == home or a.name in replicas or a.accounts < a.max_accounts)]
    if not eligible:
        return None
    if home in [a.name for a in eligible]:
        return home
    pool = [a for a in eligible if a.name in replicas] or eligible
    best = max(a.free_slots for a in pool)
    return min(a.name for a in pool if a.free_slots == best)


def expected_account(fleet: list[AgentLoad], exclude: set[str]) -> str | None:
    live = [a for a in fleet if a.alive and a.accounts < a.max_accounts and a.name not in exclude]
    if not live:
        return None
    fewest = min(a.accounts for a in live)
    live = [a for a in live if a.accounts == fewest]
    most = max(a.free_slots for a in live)
    return min(a.name for a in live if a.free_slots == most)


def random_fleet(rnd: random.Random) -> list[AgentLoad]:
    names = rnd.sample("abcdef", rnd.randint(0, 6))
    return [AgentLoad(name, capacity=rnd.randint(0, 4), calls=rnd.randint(0, 5),
                      sockets_free=rnd.randint(0, 9), accounts=rnd.randint(0, 3),
                      alive=rnd.random() < 0.8, max_accounts=rnd.randint(0, 3))
            for name in names]


def test_brute_force_against_small_random_fleets() -> None:
    rnd = random.Random(20240601)
    placed = 0
    for _ in range(20_000):
        fleet = random_fleet(rnd)
        names = [a.name for a in fleet] + ["gone"]
        home = rnd.choice([*names, None])
        replicas = set(rnd.sample(names, rnd.randint(0, len(names))))
        exclude = set(rnd.sample(names, rnd.randint(0, min(2, len(names)))))
        chosen = place_call(fleet, home, replicas, exclude)
        assert chosen == expected_call(fleet, home, replicas, exclude), (fleet, home, replicas, exclude)
        if chosen is not None:
            placed += 1
            by_name = {a.name: a for a in fleet}
            assert by_name[chosen].free_slots > 0
            assert by_name[chosen].alive
            assert chosen not in exclude
        account = place_account(fleet, exclude)
        assert account == expected_account(fleet, exclude), (fleet, exclude)
        if account is not None:
            assert account not in exclude
            assert {a.name: a for a in fleet}[account].account_room
    assert placed > 4_000  # the fleets were not all full
