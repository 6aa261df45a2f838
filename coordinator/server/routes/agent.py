"""The route of agent.fatal from an admin client (a host's FATAL listener sends it on the agents
socket: ``coordinator.server.lifecycle``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import proto
from coordinator.server.lifecycle import fatal_report
from coordinator.server.routes.registry import route

if TYPE_CHECKING:
    from coordinator.server.coordinator import Coordinator


@route("agent.fatal")
def agent_fatal(server: Coordinator, client: bytes, msg: proto.Message) -> None:
    server.pipeline.reply(client, msg, fatal_report(server, msg))
