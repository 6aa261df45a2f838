"""Which buddy a message is from (pure): addresses compared as pjsua compares buddies, the port
only when both give one."""

from __future__ import annotations

import pytest

from coordinator.client.buddy import same_address


@pytest.mark.parametrize(("a", "b", "same"), [
    ("sip:alice@127.0.0.1", "sip:alice@127.0.0.1:5071", True),   # a From without its port
    ('"Alice" <sip:alice@Example.COM;transport=tcp>', "sip:alice@example.com", True),
    ("sip:alice@127.0.0.1:5071", "sip:alice@127.0.0.1:5072", False),
    ("sip:alice@127.0.0.1", "sip:bob@127.0.0.1", False),
    ("sip:alice@127.0.0.1", "sips:alice@127.0.0.1", False),
    ("sip:alice@[::1]:5060", "sip:alice@[::1]", True),
    ("not a uri", "sip:alice@127.0.0.1", False),
])
def test_same_address(a: str, b: str, same: bool) -> None:
    assert same_address(a, b) is same
    assert same_address(b, a) is same
