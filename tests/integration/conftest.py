from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator.client import Lib


def start_fleet(agents: int, agent_args: list[str] | None = None) -> Iterator[Lib]:
    lib = Lib.start_local(agents=agents, agent_args=agent_args)
    try:
        yield lib
    finally:
        lib.destroy()
    # every process shut down cleanly: no PJSIP assertion aborted an agent
    assert lib.exit_codes and set(lib.exit_codes.values()) == {0}, lib.exit_codes
    assert lib.callback_errors == []


@pytest.fixture
def lib() -> Iterator[Lib]:
    """An embedded fleet of 2 agents, stopped after the test."""
    yield from start_fleet(2)


@pytest.fixture
def lib3() -> Iterator[Lib]:
    yield from start_fleet(3)




@pytest.fixture
def lib1() -> Iterator[Lib]:
    yield from start_fleet(1)


@pytest.fixture
def lib12() -> Iterator[Lib]:
    """12 agents: 48 call slots (the SIP front's tests)."""
    yield from start_fleet(12)
