"""CURVE keys of the control channel: key files, the bind rule, the ZAP verdicts, client roles.

Ironhouse: the coordinator has a key pair and every agent and client has one; agents and clients
know the coordinator's public key; the coordinator admits only the public keys of its
allow-lists (directories of public certificates, as ``callfleet keys`` writes them):

* ``agents`` socket: the agents' keys;
* ``clients`` socket and the ``events`` PUB socket: the admins' keys, the full-control
  clients' keys and the read-only clients' keys (the role of a connection is looked up from its
  key).

The coordinator answers the ZAP requests itself, from its own loop (:func:`zap_reply` is pure),
rather than with pyzmq's ThreadAuthenticator: the coordinator stays single-threaded, the
allow-lists are read by the one thread that also looks roles up, and a refusal is logged in
order with everything else. A ZAP request is a set lookup, so it never holds the loop up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import zmq
from zmq.utils import z85

from proto.curve import exposed, key_pair, public_keys

#: ZAP domains of the coordinator's server sockets
DOMAIN_AGENTS = "agents"
DOMAIN_CLIENTS = "clients"
DOMAIN_EVENTS = "events"
#: client roles: an admin may also change what every client's calls use (fleet-wide settings,
#: such as codec priorities) and report FATAL processes; full control acts on its own objects
ADMIN = "admin"
FULL = "full"
READ_ONLY = "read-only"
#: the inproc endpoint where libzmq sends ZAP requests (RFC 27)
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


@dataclass(frozen=True)
class ServerKeys:
    """The coordinator's key pair and its allow-lists."""

    public: bytes
    secret: bytes
    agents: frozenset[bytes] = frozenset()
    clients: frozenset[bytes] = frozenset()
    readonly: frozenset[bytes] = frozenset()
    admins: frozenset[bytes] = frozenset()

    @classmethod
    def load(cls, key: str, agents_dir: str = "", clients_dir: str = "",
             readonly_dir: str = "", admins_dir: str = "") -> ServerKeys:
        public, secret = key_pair(key)
        return cls(public, secret,
                   public_keys(agents_dir) if agents_dir else frozenset(),
                   public_keys(clients_dir) if clients_dir else frozenset(),
                   public_keys(readonly_dir) if readonly_dir else frozenset(),
                   public_keys(admins_dir) if admins_dir else frozenset())

    def allowed(self, domain: str, key: bytes) -> bool:
        """Whether a peer with the Z85 public ``key`` may connect to the ``domain`` socket."""
        if domain == DOMAIN_AGENTS:
            return key in self.agents
        if domain in (DOMAIN_CLIENTS, DOMAIN_EVENTS):
            return key in self.clients or key in self.readonly or key in self.admins
        return False

    def role(self, user_id: str) -> str:
        """The role of a client connection authenticated as ``user_id`` (its Z85 public key).
        A key on several lists has the strongest of their roles."""
        key = user_id.encode()
        if key in self.admins:
            return ADMIN
        return FULL if key in self.clients or key not in self.readonly else READ_ONLY


def serve_curve(sock: zmq.Socket[bytes], keys: ServerKeys, domain: str) -> None:
    """Make ``sock`` (before bind) a CURVE server whose peers ZAP checks in ``domain``."""
    sock.curve_server = True
    sock.curve_publickey = keys.public
    sock.curve_secretkey = keys.secret
    sock.zap_domain = domain.encode()


def zap_reply(request: list[bytes], keys: ServerKeys | None,
              events_room: Callable[[], bool] | None = None) -> list[bytes]:
    """The ZAP (RFC 27) reply to ``request``: 200 with the client's Z85 public key as User-Id
    when it is on the allow-list of the request's domain (without keys: any peer, User-Id
    empty), and, for the ``events`` domain, while ``events_room()`` says the firehose takes one
    more subscriber; 400 otherwise; 500 for a malformed request (libzmq then refuses the peer
    as well)."""
    if len(request) < 6:
        return [b"1.0", request[1] if len(request) > 1 else b"", b"500", b"bad ZAP request",
                b"", b""]
    version, rid, domain, _address, _identity, mechanism = request[:6]
    if version != b"1.0":
        return [b"1.0", rid, b"500", b"unsupported ZAP version", b"", b""]
    key = b""
    if keys is not None:
        if mechanism != b"CURVE" or len(request) != 7 or len(request[6]) != 32:
            return [b"1.0", rid, b"400", b"CURVE required", b"", b""]
        key = z85.encode(request[6])
        if not keys.allowed(domain.decode("utf-8", "replace"), key):
            return [b"1.0", rid, b"400", b"unknown key", b"", b""]
    if domain == DOMAIN_EVENTS.encode() and events_room is not None and not events_room():
        return [b"1.0", rid, b"400", b"too many subscribers", b"", b""]
    return [b"1.0", rid, b"200", b"OK", key, b""]


class RefusalLog:
    """Which refused connections to log: a peer with a wrong key reconnects every few hundred ms,
    so each (socket, address) is reported at once, then at most every ``every_s`` seconds with
    the number refused meanwhile."""

    def __init__(self, every_s: float = 10.0, max_peers: int = 1024) -> None:
        self.every_s = every_s
        self.max_peers = max_peers
        #: (domain, address) -> (when last reported, refusals since)
        self.peers: dict[tuple[str, str], tuple[float, int]] = {}

    def note(self, domain: str, address: str, now: float) -> int:
        """Count one refusal; the number to report now (0: stay quiet)."""
        key = (domain, address)
        last = self.peers.get(key)
        if last is not None and now - last[0] < self.every_s:
            self.peers[key] = (last[0], last[1] + 1)
            return 0
        if last is None and len(self.peers) >= self.max_peers:
            self.peers = {k: v for k, v in self.peers.items() if now - v[0] < self.every_s}
        self.peers[key] = (now, 0)
        return 1 + (last[1] if last is not None else 0)


@dataclass
class BindPlan:
    """The outcome of checking a coordinator's binds: refused (``error``) or allowed, with the
    warnings to print."""

    error: str = ""
    warnings: list[str] = field(default_factory=list)


def check_binds(urls: Sequence[str], curve: bool, insecure: bool) -> BindPlan:
    """Off-loopback binds need CURVE keys, or ``--insecure`` (which warns)."""
    outside = exposed(urls)
    if not outside or curve:
        return BindPlan()
    listed = ", ".join(outside)
    if not insecure:
        return BindPlan(error=f"refusing to bind {listed} without CURVE keys: anyone who reaches "
                              "it could drive the fleet. Give --key and the allow-lists "
                              "(--agents-keys, --clients-keys, --readonly-keys), or --insecure "
                              "on a network only your hosts reach")
    return BindPlan(warnings=[f"WARNING: INSECURE: {listed} is bound with no authentication and "
                              "no encryption: anyone who reaches it can drive the fleet "
                              "and read its events"])


def warn(lines: Sequence[str]) -> None:
    for line in lines:
        logging.getLogger("callfleet coordinator").warning("%s", line)
