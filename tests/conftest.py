from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.helpers import children_of, wait_for


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Every test ends with no child process of its own still running."""
    before = set(children_of(os.getpid()))
    yield
    wait_for(lambda: not (set(children_of(os.getpid())) - before), 10,
             "the test's child processes to exit")
