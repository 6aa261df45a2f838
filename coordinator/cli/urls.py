"""ZeroMQ URLs as people type them: ``--coordinator`` takes ``tcp://HOST:PORT`` (or, forgiven,
``HOST:PORT``); anything else (``http://...``, a port alone, a typo) is one line at once, not a
ZeroMQ error from a thread and a wait. And the ports a command will bind, checked before it
starts anything: one line naming the port taken, instead of a traceback or a process that
supervisord restarts until it gives up."""

from __future__ import annotations

import argparse
import re
import socket

_HOSTPORT = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})")
#: the coordinator's ports, for the hint of a timeout
ROLES = {"5600": "agents", "5601": "clients", "5602": "events"}


def client_url(text: str) -> str:
    """A coordinator URL a client connects to (argparse type; '' stays '': not given)."""
    url = text.strip()
    if not url:
        return ""
    if "://" not in url:
        if _HOSTPORT.fullmatch(url):
            return f"tcp://{url}"
        raise argparse.ArgumentTypeError(f"{text!r} is not a coordinator URL: use "
                                         "tcp://HOST:PORT (clients use port 5601 by default)")
    scheme, rest = url.split("://", 1)
    if scheme == "ipc" and rest:
        return url
    m = _HOSTPORT.fullmatch(rest) if scheme == "tcp" else None
    if m is None or not 0 < int(m["port"]) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a coordinator URL: use "
                                         "tcp://HOST:PORT (clients use port 5601 by default)")
    return url


def taken(url: str) -> str:
    """Why a coordinator cannot bind ``url`` ('' : it can, as far as a bind now shows); a
    wildcard port (``tcp://H:*``) is always free."""
    m = _HOSTPORT.fullmatch(url.split("://", 1)[-1]) if url.startswith("tcp://") else None
    if m is None:
        return ""
    host, port = m["host"].strip("[]"), int(m["port"])
    try:
        family, kind, proto, _, where = socket.getaddrinfo(
            None if host == "*" else host, port, type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            # as ZeroMQ binds: a port whose last connections linger (TIME_WAIT) is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(where)
    except OSError as exc:
        role = ROLES.get(str(port))
        who = f" (a coordinator's {role} port: is one running? `callfleet status` asks it)" \
            if role else ""
        return f"cannot bind {url}: {exc.strerror or exc}{who}"
    return ""


_SIP_HOSTPORT = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(?P<port>\d{1,5})")


def hostport(text: str) -> tuple[str, int]:
    """A SIP address option (``127.0.0.1:5060``, ``[::1]:5060``) as (host, port)."""
    m = _SIP_HOSTPORT.fullmatch(text)
    if m is None or not 0 < int(m["port"]) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:5060)")
    return m["host"].strip("[]"), int(m["port"])
