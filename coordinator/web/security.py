"""Who may use the dashboard: where it listens, the token it asks for, and the guards on its
control requests.

- It binds loopback by default. Any other address requires a token (``--token``, or
  ``$CALLFLEET_WEB_TOKEN``); without one it refuses to start. With a token every request needs
  it: an ``Authorization: Bearer`` header, or the session cookie the login form sets (an HMAC
  of the token, HttpOnly, SameSite=Strict: the token itself is never stored in the browser).
- On loopback without a token, requests must name a loopback host (``Host``), so that a web
  page elsewhere cannot reach it through a DNS name rebound to 127.0.0.1.
- Control requests (POST) carry the page's CSRF token in ``X-CSRF-Token`` (a random value
  served in the page: another site can neither read it nor set the header on a form), and an
  ``Origin``, when the browser sends one, must be the dashboard's own; so must the WebSocket's.

aiohttp has no authentication of its own for this (aiohttp-security and aiohttp-session are
general frameworks for users and sessions); a single shared token needs these few checks."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field

#: the session cookie the login form sets
COOKIE = "callfleet_session"
#: the header control requests carry
CSRF_HEADER = "X-CSRF-Token"
DEFAULT_BIND = "127.0.0.1:8089"


class BindError(ValueError):
    """A bind address that cannot be used: one line for the user."""


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``PORT`` (loopback) -> (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text.strip()
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise BindError(f"--bind {text!r}: expected HOST:PORT with a port 0-65535")
    return host, number


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_bind(host: str, token: str) -> None:
    """Refuse a bind off loopback without a token."""
    if not is_loopback(host) and not token:
        raise BindError(f"refusing to serve the dashboard on {host} without a token: anyone "
                        "who reaches it could steer the fleet (give --token or "
                        "$CALLFLEET_WEB_TOKEN, or bind 127.0.0.1)")


@dataclass
class Guard:
    host: str
    port: int
    token: str = ""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def session(self) -> str:
        """The login cookie's value: derived from the token, useless without it."""
        return hmac.new(self.token.encode(), b"callfleet-web-session",
                        hashlib.sha256).hexdigest()

    def authorised(self, authorization: str, cookie: str) -> bool:
        if not self.token:
            return True
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              self.token.encode()):
            return True
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session.encode())

    def token_matches(self, given: str) -> bool:
        return bool(self.token) and hmac.compare_digest(given.encode(), self.token.encode())

    def host_ok(self, host_header: str) -> bool:
        """On loopback without a token, only loopback names reach the page."""
        if self.token or not is_loopback(self.host):
            return True
        name = host_header.rpartition(":")[0] if host_header.count(":") == 1 or \
            host_header.startswith("[") else host_header
        return is_loopback(name.strip("[]"))

    def origin_ok(self, origin: str, scheme: str, host_header: str) -> bool:
        """No Origin (not a browser's cross-site request) or the dashboard's own."""
        return not origin or origin == f"{scheme}://{host_header}"

    def csrf_ok(self, header: str) -> bool:
        return hmac.compare_digest(header.encode(), self.csrf.encode())
