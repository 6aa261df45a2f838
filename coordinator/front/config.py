"""Kamailio's configuration for the front, from one template (kamailio.cfg.j2), and the
dispatcher list of the fleet's ready agents. Pure but for ``check`` (``kamailio -c``).

The template is rendered with jinja2 (the report extra's template engine): Kamailio's own
preprocessor (``#!define``, ``-A``) cannot put a quoted path into a ``modparam``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from proto import sip_addresses
from proto.front import FINAL_HEADER, RETRIED

TEMPLATE = Path(__file__).with_name("kamailio.cfg.j2")
MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
#: the dispatcher set of the fleet
SET = 1


class Destination(NamedTuple):
    """An agent the front may send a call to."""

    agent: str
    uri: str


@dataclass(frozen=True)
class FrontConfig:
    host: str
    port: int
    workdir: Path
    children: int = 2
    #: ms without any answer (not even 100 Trying) before an agent counts as gone
    fr_timer_ms: int = 2000
    ping_interval_s: int = 1
    debug: int = 2

    @property
    def cfg_file(self) -> Path:
        return self.workdir / "kamailio.cfg"

    @property
    def list_file(self) -> Path:
        return self.workdir / "dispatcher.list"

    @property
    def ctl_socket(self) -> Path:
        return self.workdir / "kamailio.ctl"

    @property
    def uri(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{host}:{self.port}"


def modules_dir() -> str:
    """Where Debian's package puts Kamailio's modules (or KAMAILIO_MODULES)."""
    return os.environ.get("KAMAILIO_MODULES", MODULES)


def render(cfg: FrontConfig) -> str:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    return env.from_string(TEMPLATE.read_text()).render(
        host=cfg.host, port=cfg.port, children=cfg.children, fr_timer_ms=cfg.fr_timer_ms,
        ping_interval_s=cfg.ping_interval_s, debug=cfg.debug, modules=modules_dir(),
        list_file=str(cfg.list_file), ctl_socket=str(cfg.ctl_socket), final_header=FINAL_HEADER,
        retried="|".join(str(c) for c in RETRIED))


def _reachable_host(host: str, fallback: str) -> str:
    """An agent's SIP host as a destination: a wildcard bind is reached at the agent's host."""
    bare = host.strip("[]")
    try:
        if ipaddress.ip_address(bare).is_unspecified:
            return fallback
    except ValueError:
        pass
    return host


def destinations(agents: Iterable[Mapping[str, Any]]) -> list[Destination]:
    """The agents a call may go to: ready ones (not draining, recycling, resetting or lost),
    each at its first UDP transport, sorted by name."""
    out = []
    for a in agents:
        if a.get("state") != "ready":
            continue
        addr = sip_addresses.find(a.get("sip", []), "udp")
        if addr is None:
            continue
        out.append(Destination(str(a["name"]),
                               f"sip:{_reachable_host(addr.host, str(a.get('host', '')))}:{addr.port}"))
    return sorted(out)


def dispatcher_list(dests: Iterable[Destination]) -> str:
    """Kamailio's dispatcher list: ``set uri flags priority attrs``, one line per agent."""
    lines = ["# the fleet's ready agents, written by `callfleet front` (dispatcher.reload reads it)"]
    lines += [f"{SET} {d.uri} 0 0 duid={d.agent}" for d in dests]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def kamailio_exe() -> str | None:
    return shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if os.access("/usr/sbin/kamailio", os.X_OK) else None)


def check(cfg_file: Path, exe: str) -> tuple[bool, str]:
    """``kamailio -c``: whether Kamailio accepts the configuration, and what it said."""
    proc = subprocess.run([exe, "-c", "-f", str(cfg_file)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    return proc.returncode == 0, proc.stdout + proc.stderr
