from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import children_of, wait_for
from tests.kamailio import Kamailio

# every coordinator of the tests also places each call by the scan the capacity index replaced,
# and fails the call.make when they differ (coordinator.server.routes.call)
os.environ["CALLFLEET_CHECK_PLACEMENT"] = "1"


@pytest.fixture(autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Every test ends with no child process of its own still running."""
    before = set(children_of(os.getpid()))
    yield
    wait_for(lambda: not (set(children_of(os.getpid())) - before), 10,
             "the test's child processes to exit")


@pytest.fixture
def kam(tmp_path: Path) -> Iterator[Kamailio]:
    """Kamailio (registrar + proxy, digest auth) on a free loopback port, stopped after the test.
    Ask for it before ``lib``, so that it outlives the agents (they unregister at exit)."""
    k = Kamailio(tmp_path)
    try:
        k.start()
        yield k
    finally:
        k.stop()  # SIGTERM; its whole session is SIGKILLed if it hangs (no process is left)
