"""A load run started by this client (``Lib.start_load``): its progress and its report, from
its ``load.*`` events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from coordinator.client.dispatch import handles


class LoadWatch:
    """A load run started by this client: its progress as it comes, and its report."""

    def __init__(self, run: str,
                 on_progress: Callable[[dict[str, Any]], None] | None = None,
                 on_done: Callable[[], None] | None = None) -> None:
        self.run = run
        self.on_progress = on_progress
        #: called once the report came (the session forgets the run then)
        self.on_done = on_done
        self.progress: dict[str, Any] = {}
        self.report: dict[str, Any] | None = None
        self.finished = threading.Event()


@handles("load.progress", "loads")
def _progress(watch: LoadWatch, d: dict[str, Any]) -> None:
    watch.progress = d
    if watch.on_progress is not None:
        watch.on_progress(d)


@handles("load.done", "loads")
def _done(watch: LoadWatch, d: dict[str, Any]) -> None:
    watch.report = d["report"]
    watch.finished.set()
    if watch.on_done is not None:
        watch.on_done()
