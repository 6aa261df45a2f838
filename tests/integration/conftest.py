from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator.client import Lib


@pytest.fixture
def lib() -> Iterator[Lib]:
    """An embedded fleet of 2 agents, stopped after the test."""
    lib = Lib.start_local(agents=2)
    try:
        yield lib
    finally:
        lib.destroy()


@pytest.fixture
def lib3() -> Iterator[Lib]:
    lib = Lib.start_local(agents=3)
    try:
        yield lib
    finally:
        lib.destroy()
