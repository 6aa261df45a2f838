"""Reconnections under one routing id: a client that closes its connection and reconnects at once
with the same routing id is answered every time (the coordinator hands the routing id over to
the new connection)."""

from __future__ import annotations

import secrets

import zmq

from tests.faults.conftest import FaultFleet
from tests.faults.raw_client import RawClient

RECONNECTS = 200


def test_immediate_reconnects_under_one_routing_id_are_all_answered(fleet2: FaultFleet) -> None:
    rid = f"again-{secrets.token_hex(4)}".encode()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        for n in range(RECONNECTS):  # close, reconnect at once, ask: as section 9 tells clients
            client = RawClient(ctx, fleet2.lib.url, rid)
            try:
                reply, _ = client.ask("lib.status", {}, f"status-{n}")
            except AssertionError as exc:
                raise AssertionError(f"reconnection {n + 1} of {RECONNECTS}: {exc}") from None
            finally:
                client.close()
            assert reply["ok"], reply
    finally:
        ctx.destroy(0)
