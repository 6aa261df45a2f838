"""Reconnections under one routing id: a client that closes its connection and reconnects at once
with the same routing id is answered every time (the coordinator hands the routing id over to
the new connection), and a restarted client that reuses its routing id and counts its request
ids from 1 again gets replies of its own, never the earlier life's."""

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


def test_a_restarted_client_reusing_routing_id_and_request_ids_gets_fresh_replies(
        fleet2: FaultFleet) -> None:
    lib = fleet2.lib
    rid = f"restarted-{secrets.token_hex(4)}".encode()
    create = {"uri": "sip:again@127.0.0.1"}
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        first = RawClient(ctx, lib.url, rid, life=secrets.token_hex(8))
        made, made_frame = first.ask("acc.create", create, "1")
        old = made["result"]["acc"]
        assert first.ask("acc.create", create, "1")[1] == made_frame  # a true retry
        deleted, _ = first.ask("acc.delete", {"acc": old}, "2")
        assert deleted["ok"] and lib.status()["accounts"] == 0
        first.close()

        # the same program started again: same routing id, its counter back at 1
        second = RawClient(ctx, lib.url, rid, life=secrets.token_hex(8))
        again, again_frame = second.ask("acc.create", create, "1")
        assert again["ok"], again
        assert again["result"]["acc"] != old, "the earlier life's reply was replayed"
        assert lib.status()["accounts"] == 1, "no account was created"
        # retries within the new life still get its first reply, and create nothing more
        assert second.ask("acc.create", create, "1")[1] == again_frame
        assert lib.status()["accounts"] == 1
        assert second.ask("acc.delete", {"acc": again["result"]["acc"]}, "2")[0]["ok"]
        second.close()
    finally:
        ctx.destroy(0)
