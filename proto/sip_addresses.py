"""The SIP transports agents listen on, as they announce them in hello (``udp:127.0.0.1:5060``,
``tcp:[::1]:5070``, ``tls:...``), and the contact URIs that reach an account through one. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class SipAddress(NamedTuple):
    kind: str
    host: str
    port: int

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"


def parse(addr: str) -> SipAddress | None:
    """``kind:host:port`` (IPv6 hosts in brackets); None when malformed."""
    kind, _, hostport = addr.partition(":")
    host, _, port = hostport.rpartition(":")
    if not kind or not host or not port.isdigit():
        return None
    return SipAddress(kind.lower(), host, int(port))


def addresses(sip: Iterable[str]) -> list[SipAddress]:
    return [a for a in map(parse, sip) if a is not None]


def find(sip: Iterable[str], kind: str = "") -> SipAddress | None:
    """The first address of ``kind`` ("" : the first address of any kind)."""
    return next((a for a in addresses(sip) if not kind or a.kind == kind), None)


def contact(user: str, addr: SipAddress | None) -> str:
    """A URI reaching ``user`` at ``addr``; non-UDP transports are named (``;transport=tcp``)."""
    hostport = addr.hostport if addr is not None else "0.0.0.0"
    uri = f"sip:{user}@{hostport}" if user else f"sip:{hostport}"
    return uri + (f";transport={addr.kind}" if addr is not None and addr.kind != "udp" else "")


class TransportInfo(NamedTuple):
    """As pjsua's TransportInfo, plus the agent that listens."""

    type: str
    host: str
    port: int
    agent: str
    description: str
    is_reliable: bool
    is_secure: bool
    is_datagram: bool


class Transport:
    """One SIP transport of one agent (``Lib.transports()``), as pjsua's Transport: give it to
    ``Lib.create_account_for_transport()``."""

    def __init__(self, agent: str, type: str, host: str, port: int) -> None:
        self.agent = agent
        self.type = type
        self.host = host
        self.port = port

    def __repr__(self) -> str:
        return f"<Transport {self.type} {self.hostport} on {self.agent}>"

    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def info(self) -> TransportInfo:
        return TransportInfo(self.type, self.host, self.port, self.agent,
                             f"{self.type.upper()} {self.hostport} on {self.agent}",
                             is_reliable=self.type != "udp", is_secure=self.type == "tls",
                             is_datagram=self.type == "udp")

    def uri(self, user: str = "") -> str:
        """The id URI of a local account on this transport (pjsua's
        ``sip:host:port;transport=tcp``, with ``user@`` when given)."""
        return contact(user, SipAddress(self.type, self.host if ":" not in self.host
                                        else f"[{self.host}]", self.port))
