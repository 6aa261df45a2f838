"""The coordinator's reply cache (idempotent request ids): verdicts, bounds, eviction."""

from __future__ import annotations

from typing import Any

import proto
from coordinator.server.replycache import READ_ONLY, ReplyCache


def _req(rid: str, op: str = "call.make", **args: Any) -> proto.Message:
    return proto.req(op, args or {"acc": "a1", "uri": "sip:b@h"}, rid)


def test_first_runs_retry_in_flight_drops_retry_after_replays() -> None:
    c = ReplyCache()
    assert c.begin(b"A", _req("r1")) == ("run", b"")
    assert c.begin(b"A", _req("r1")) == ("drop", b"")
    c.done(b"A", "r1", b"reply-1")
    assert c.begin(b"A", _req("r1")) == ("replay", b"reply-1")
    c.done(b"A", "r1", b"other")  # a second reply (there is none) never replaces the first
    assert c.begin(b"A", _req("r1")) == ("replay", b"reply-1")
    assert (c.replayed, c.dropped) == (2, 1)


def test_connections_and_contents_are_told_apart() -> None:
    c = ReplyCache()
    c.begin(b"A", _req("r1"))
    c.done(b"A", "r1", b"x")
    assert c.begin(b"B", _req("r1"))[0] == "run"  # another connection: its own ids
    assert c.begin(b"A", _req("r1", uri="sip:other@h"))[0] == "run"  # id reused: a new request
    c.done(b"A", "r1", b"y")
    assert c.begin(b"A", _req("r1", uri="sip:other@h")) == ("replay", b"y")
    assert c.begin(b"A", _req("r1", op="acc.delete", acc="a1"))[0] == "run"


def test_read_only_ops_and_empty_ids_always_run() -> None:
    c = ReplyCache()
    for op in READ_ONLY:
        c.begin(b"A", proto.req(op, {}, "r1"))
        c.done(b"A", "r1", b"z")
        assert c.begin(b"A", proto.req(op, {}, "r1"))[0] == "run"
    c.begin(b"A", _req(""))
    c.done(b"A", "", b"z")
    assert c.begin(b"A", _req(""))[0] == "run"
    assert len(c) == 0


def test_bounded_per_connection_in_entries_and_in_bytes() -> None:
    c = ReplyCache(per_client=3, max_entries=5, max_bytes=100, max_reply=40)
    for i in range(4):
        c.begin(b"A", _req(f"r{i}"))
        c.done(b"A", f"r{i}", b"a" * 10)
    assert len(c) == 3 and c.begin(b"A", _req("r0"))[0] == "run"  # the oldest of A went
    assert c.begin(b"A", _req("r3"))[0] == "replay"
    for i in range(4):
        c.begin(b"B", _req(f"r{i}"))
    assert len(c) <= 5
    # a reply over max_reply is not kept: its retry runs again
    c.begin(b"C", _req("big"))
    c.done(b"C", "big", b"b" * 41)
    assert c.begin(b"C", _req("big"))[0] == "run"
    # bytes: replies beyond max_bytes push the oldest out
    d = ReplyCache(max_bytes=100)
    for i in range(20):
        d.begin(b"A", _req(f"r{i}"))
        d.done(b"A", f"r{i}", b"c" * 30)
    assert d.bytes <= 100
    assert d.begin(b"A", _req("r19"))[0] == "replay"
    assert d.begin(b"A", _req("r0"))[0] == "run"
