"""Client leases (pure): renewed by every message, set per connection, each ending once, and
found without scanning every lease; request ids scoped per client life in the reply cache."""

from __future__ import annotations

import proto
from coordinator.server.leases import Leases
from coordinator.server.replycache import ReplyCache


def test_a_lease_ends_a_period_after_the_last_message_and_only_once() -> None:
    leases = Leases(default_s=10.0)
    assert leases.renew(b"A", 0.0) is True  # a new lease
    assert leases.renew(b"A", 6.0) is False
    assert leases.expired(15.9) == []  # renewed at 6: ends at 16
    ended = leases.expired(16.0)
    assert [conn for conn, _ in ended] == [b"A"] and ended[0][1].seen == 6.0
    assert leases.expired(100.0) == [] and not leases.alive(b"A")
    assert leases.renew(b"A", 101.0) is True  # it talks again: a fresh lease
    assert leases.expired_total == 1


def test_a_lease_set_shorter_or_longer_ends_on_time() -> None:
    leases = Leases(default_s=15.0)
    leases.renew(b"short", 0.0)
    leases.set(b"short", 2.0, 1.0)
    leases.set(b"long", 60.0, 1.0)
    leases.renew(b"default", 1.0)
    assert [c for c, _ in leases.expired(3.0)] == [b"short"]
    assert [c for c, _ in leases.expired(16.0)] == [b"default"]
    assert leases.expired(60.9) == []
    assert [(c, lease.seconds) for c, lease in leases.expired(61.0)] == [(b"long", 60.0)]


def test_many_renewals_keep_one_heap_entry_per_lease() -> None:
    leases = Leases(default_s=3.0)
    for n in range(1000):
        leases.renew(b"busy", n / 100)
    leases.set(b"busy", 3.0, 10.0)
    assert len(leases._heap) == 1
    assert leases.expired(12.9) == [] and len(leases._heap) == 1
    assert [c for c, _ in leases.expired(13.0)] == [b"busy"]


def test_expiry_waits_for_the_adoption_window_then_counts_from_its_end() -> None:
    leases = Leases(default_s=5.0)
    leases.paused_until = 20.0
    leases.renew(b"A", 0.0)
    assert leases.expired(10.0) == []
    leases.extend_all(20.0)
    assert leases.expired(24.9) == []
    assert [c for c, _ in leases.expired(25.0)] == [b"A"]


def test_lives_are_kept_apart_in_the_reply_cache() -> None:
    c = ReplyCache()
    first = proto.req("acc.create", {"uri": "sip:x@h"}, "r1", life="life-1")
    assert c.begin(b"A", first) == ("run", b"")
    c.done(b"A", "r1", b"a69", "life-1")
    assert c.begin(b"A", first) == ("replay", b"a69")  # a true retry of the same life
    again = proto.req("acc.create", {"uri": "sip:x@h"}, "r1", life="life-2")
    assert c.begin(b"A", again) == ("run", b"")  # a restarted client: its own request
    c.done(b"A", "r1", b"a70", "life-2")
    assert c.begin(b"A", again) == ("replay", b"a70")
    assert c.begin(b"A", first)[0] == "run"  # the earlier life's replies are gone for good
    c.forget_client(b"A")
    assert len(c) == 0 and c.bytes == 0


def test_an_adopted_owners_lease_goes_on_and_is_not_fresh() -> None:
    leases = Leases(default_s=5.0)
    assert leases.renew(b"A", 0.0) is True  # its ping reached the restarted coordinator first
    leases.adopt(b"A", 1.0)  # then its objects were adopted
    leases.adopt(b"B", 1.0)  # a client that has not spoken yet
    assert not leases.by_conn[b"A"].fresh and not leases.by_conn[b"B"].fresh
    assert [c for c, _ in leases.expired(6.0)] == [b"A", b"B"]
