"""``--metrics-port`` and ``--metrics-host`` (Prometheus ``/metrics`` of a coordinator), as
``coordinator``, ``up`` and ``load`` / ``run`` take them, and the checks made before anything
starts: a port another program holds, and ``load --coordinator`` (whose coordinator is not
this command's to configure)."""

from __future__ import annotations

import argparse
import socket

#: where /metrics listens unless told otherwise: loopback (it is plain HTTP)
DEFAULT_HOST = "127.0.0.1"


def port(text: str) -> int | None:
    """A TCP port (0: any free one); '' (an unset supervisord variable gives it): no /metrics."""
    if not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0-65535)")
    return value


def host(text: str) -> str:
    """The address /metrics binds; '' means the default, loopback."""
    return text.strip() or DEFAULT_HOST


def add_options(p: argparse.ArgumentParser, whose: str = "") -> None:
    p.add_argument("--metrics-port", type=port, default=None, metavar="PORT",
                   help=f"{whose}serve Prometheus /metrics on this TCP port (0: any free port; "
                        "default: none)")
    p.add_argument("--metrics-host", type=host, default=DEFAULT_HOST, metavar="ADDR",
                   help=f"address of the /metrics server (default {DEFAULT_HOST}; it is plain "
                        "HTTP)")


def coordinator_args(args: argparse.Namespace) -> list[str]:
    """The options that give a coordinator the /metrics ``args`` ask for."""
    if args.metrics_port is None:
        return []
    return ["--metrics-port", str(args.metrics_port), "--metrics-host", args.metrics_host]


def unusable(address: str, number: int) -> str:
    """Why /metrics cannot listen on address:number ('' : it can, as far as a bind now shows)."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            address, number, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            probe.bind(where)
    except OSError as exc:
        return f"cannot serve /metrics on {address}:{number}: {exc.strerror or exc}"
    return ""


def load_problem(args: argparse.Namespace) -> str:
    """What is wrong with ``load``'s metrics options ('' : nothing). With ``--coordinator`` the
    flag is refused rather than ignored: /metrics is served by a coordinator process, and that
    one was started (or not) with its own ``--metrics-port``."""
    if args.metrics_port is None:
        return ""
    if args.coordinator:
        return (f"--metrics-port is for the embedded fleet's coordinator; {args.coordinator} "
                "serves /metrics if it was started with its own --metrics-port "
                "(callfleet coordinator / up --metrics-port)")
    return unusable(args.metrics_host, args.metrics_port)
