"""The dashboard's guards (pure): where it may listen, its token, the session cookie, the host
and origin checks, the CSRF token."""

from __future__ import annotations

import pytest

from coordinator.web.security import BindError, Guard, check_bind, is_loopback, parse_bind


def test_bind_addresses() -> None:
    assert parse_bind("127.0.0.1:8089") == ("127.0.0.1", 8089)
    assert parse_bind("[::1]:0") == ("::1", 0)
    assert parse_bind("9000") == ("127.0.0.1", 9000)
    assert parse_bind("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("host:x", "127.0.0.1:70000", ""):
        with pytest.raises(BindError, match="HOST:PORT"):
            parse_bind(bad)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_off_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", "")
    for host in ("0.0.0.0", "::", "192.0.2.7", "dashboard.example"):
        with pytest.raises(BindError, match="without a token"):
            check_bind(host, "")
        check_bind(host, "s3cret")


def test_the_token_opens_by_bearer_or_by_the_login_cookie() -> None:
    open_guard = Guard("127.0.0.1", 8089)
    assert open_guard.authorised("", "")
    g = Guard("0.0.0.0", 8089, token="s3cret")
    assert not g.authorised("", "") and not g.authorised("Bearer wrong", "")
    assert g.authorised("Bearer s3cret", "") and g.authorised("bearer s3cret", "")
    assert g.authorised("", g.session) and not g.authorised("", "s3cret")
    assert "s3cret" not in g.session and g.token_matches("s3cret") and not g.token_matches("")
    assert Guard("0.0.0.0", 1, token="other").session != g.session


def test_host_origin_and_csrf() -> None:
    g = Guard("127.0.0.1", 8089)
    assert g.host_ok("127.0.0.1:8089") and g.host_ok("localhost:8089") and g.host_ok("[::1]:8089")
    assert not g.host_ok("attacker.example:8089")  # a rebound DNS name
    assert Guard("127.0.0.1", 8089, token="t").host_ok("attacker.example:8089")  # the token guards
    assert g.origin_ok("", "http", "127.0.0.1:8089")
    assert g.origin_ok("http://127.0.0.1:8089", "http", "127.0.0.1:8089")
    assert not g.origin_ok("http://evil.example", "http", "127.0.0.1:8089")
    assert g.csrf_ok(g.csrf) and not g.csrf_ok("") and not g.csrf_ok(Guard("h", 1).csrf)
