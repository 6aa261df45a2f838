"""Gap detection on the client side, pure: the last ``seq`` seen per object.

Events about one object are numbered 1, 2, 3, ... (the agent holding a call numbers its events;
the coordinator numbers account and load-run events). A jump means events were lost on the way
(the coordinator dropped them for this connection: see ``events.gap``). The first event seen
about an object sets its baseline, since a subscription may start in the middle of a sequence;
a number that does not grow (a restarted agent numbering its ``agent.error`` events again)
sets a new baseline; ``seq`` 0 is not numbered.
"""

from __future__ import annotations

from collections import OrderedDict

#: objects whose last seq is remembered at most (the least recently seen are forgotten first)
MAX_TRACKED = 65536


class SeqWatch:
    def __init__(self, limit: int = MAX_TRACKED) -> None:
        self.limit = limit
        self.last: OrderedDict[str, int] = OrderedDict()
        #: events found missing so far, over every object
        self.missed = 0

    def observe(self, obj: str, seq: int) -> int:
        """Record the event ``seq`` about ``obj``; returns how many events before it are missing."""
        if seq <= 0:
            return 0
        prev = self.last.get(obj)
        self.last[obj] = seq
        self.last.move_to_end(obj)
        while len(self.last) > self.limit:
            self.last.popitem(last=False)
        if prev is None or seq <= prev:
            return 0
        missed = seq - prev - 1
        self.missed += missed
        return missed

    def forget(self, obj: str) -> None:
        """The object's sequence is over (a call's DISCONNECTED, a run's load.done)."""
        self.last.pop(obj, None)
