"""CURVE key files of the control channel (ZeroMQ certificates, as ``callfleet keys`` writes
them) and what an agent or a client needs to connect with CURVE. See PROTOCOL.md, "Security".

A certificate file ``NAME.key`` holds a Z85 public key; ``NAME.key_secret`` the pair.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth


class KeyFileError(Exception):
    """A key file or key directory is missing or unreadable, or a bind needs keys."""


def is_local(url: str) -> bool:
    """True when ``url`` is reachable only from this host: tcp on a loopback address (or
    ``localhost``), ipc and inproc. A wildcard or any other address is reachable from outside."""
    scheme, _, rest = url.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    host = rest.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # an interface name or a host name: not provably local
        return False


def exposed(urls: Sequence[str]) -> list[str]:
    """The URLs in ``urls`` (empty ones skipped) that are reachable from other hosts."""
    return [u for u in urls if u and not is_local(u)]


def public_key(path: str | Path) -> bytes:
    """The Z85 public key of a certificate file (public or secret)."""
    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the public key in {path}: {exc}") from None
    return public


def key_pair(path: str | Path) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys of a secret certificate file (``NAME.key_secret``)."""
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the key pair in {path}: {exc}") from None
    if not secret:
        raise KeyFileError(f"{path} holds no secret key (give the .key_secret file)")
    return public, secret


def public_keys(directory: str | Path) -> frozenset[bytes]:
    """The public keys of every ``*.key`` certificate in ``directory`` (an allow-list)."""
    path = Path(directory)
    if not path.is_dir():
        raise KeyFileError(f"{directory} is not a directory of public keys")
    try:
        return frozenset(zmq.auth.load_certificates(path))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read the public keys in {directory}: {exc}") from None


@dataclass(frozen=True)
class ClientKeys:
    """What an agent or a client needs: the coordinator's public key and its own key pair."""

    server: bytes
    public: bytes
    secret: bytes

    @classmethod
    def load(cls, server_key: str, key: str) -> ClientKeys | None:
        """None when neither file is given (a plain connection); both or neither."""
        if not server_key and not key:
            return None
        if not server_key or not key:
            raise KeyFileError("CURVE needs both the coordinator's public key (--server-key) and "
                            "this program's own secret key file (--key)")
        public, secret = key_pair(key)
        return cls(public_key(server_key), public, secret)

    def apply(self, sock: zmq.Socket[bytes]) -> None:
        """Make ``sock`` (before connect) a CURVE client of the coordinator."""
        sock.curve_serverkey = self.server
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret




def add_options(p: argparse.ArgumentParser) -> None:
    """``--server-key FILE --key FILE``: connect with CURVE (both, or neither: a plain
    connection, which a coordinator with keys refuses)."""
    p.add_argument("--server-key", default="", metavar="FILE",
                   help="the coordinator's public key (its .key certificate): connect with CURVE")
    p.add_argument("--key", default="", metavar="FILE",
                   help="this program's own key pair (a .key_secret certificate); its public key "
                        "must be on the coordinator's allow-list")


def from_args(args: argparse.Namespace) -> ClientKeys | None:
    """The keys that :func:`add_options` named; raises KeyFileError."""
    return ClientKeys.load(args.server_key, args.key)
