"""What several commands share: the coordinator's default URLs, the client options
(``--coordinator``, ``--timeout``, CURVE keys), the connection they make, and argument types."""

from __future__ import annotations

import argparse
import sys

from coordinator.cli.urls import ROLES, client_url
from coordinator.client import Error, Lib
from proto import curve, limits

DEFAULT_AGENTS = "tcp://127.0.0.1:5600"
DEFAULT_CLIENTS = "tcp://127.0.0.1:5601"
DEFAULT_EVENTS = "tcp://127.0.0.1:5602"
#: the lease of one-shot commands (status, call): what a killed command leaves on the fleet is
#: released this soon (the command renews it while it runs)
ONE_SHOT_LEASE_S = 5.0


def connect(args: argparse.Namespace, lease: float = limits.LEASE_S) -> Lib:
    """The command's client: an embedded fleet (``--local``) or a connection whose ``lease``
    the coordinator keeps what the command made for once it stops hearing from it."""
    if getattr(args, "local", 0):
        return Lib.start_local(agents=args.local)
    return Lib.connect(args.coordinator, timeout=args.timeout, server_key=args.server_key,
                       key=args.key, lease=lease)


def counted(n: int, thing: str) -> str:
    """``1 agent``, ``2 agents``."""
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def failure(cmd: str, exc: Error, url: str = "") -> int:
    """A request that failed, in one line on stderr (its code and message, no op-id noise,
    and which port a timeout may have gone to); returns the exit status, 2."""
    hint = ""
    port = url.rsplit(":", 1)[-1]
    if exc.err_code == "E_TIMEOUT" and ROLES.get(port, "clients") != "clients":
        hint = f" ({url} is a coordinator's {ROLES[port]} port; clients use 5601)"
    print(f"callfleet {cmd}: {exc.err_code}: {exc.err_msg}{hint}", file=sys.stderr)
    return 2


def client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--coordinator", type=client_url, default=DEFAULT_CLIENTS,
                   help="the coordinator's clients URL")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for replies")
    curve.add_options(p)


def default_lost_after(agents_bind: str) -> float:
    """Seconds without a heartbeat before an agent is declared lost: 3 missed heartbeats when
    agents can only be local (the agents socket is bound to loopback), 5 across hosts."""
    host = agents_bind.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]")
    local = host == "localhost" or host == "::1" or host.startswith("127.")
    return limits.HEARTBEAT_S * (limits.HEARTBEAT_MISSES if local else limits.HEARTBEAT_MISSES_REMOTE)


def seconds(text: str) -> float | None:
    """--lost-after's value: positive seconds; '' (as an unset environment variable gives) = auto."""
    if not text.strip():
        return None
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in (0, 3600]")
    return value


def window(text: str) -> float:
    """--adopt-window's value: seconds in [0, 600]."""
    value = float(text)
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in [0, 600]")
    return value


def count(text: str) -> int:
    """A positive integer (0 would make a ZeroMQ high-water mark unlimited)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def nonneg(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number >= 0")
    return value


def nonneg_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer >= 0")
    return value


def positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number > 0")
    return value


def percent(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (0 to 100)")
    return value
