"""Events to callbacks: one table, filled by ``@handles(event, table)`` where each object kind
is defined (account, call, load run, media). A handler gets the object the event is about
(looked up in the session's ``table`` by the event's ``obj``) and the event's data; an event
about an object the session does not know is dropped. Registering an event twice, or one the
protocol does not have, is an error at import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import proto

#: what a handler gets: the object (an Account, a Call, a LoadWatch, a player's id) and the data
Handler = Callable[[Any, dict[str, Any]], None]

#: event -> (the session's table of the objects it is about, its handler)
HANDLERS: dict[str, tuple[str, Handler]] = {}


def handles(event: str, table: str) -> Callable[[Handler], Handler]:
    if event not in proto.EVENTS:
        raise ValueError(f"no event {event!r} in the protocol")

    def register(fn: Handler) -> Handler:
        if event in HANDLERS:
            raise ValueError(f"event {event} has two handlers")
        HANDLERS[event] = (table, fn)
        return fn

    return register
