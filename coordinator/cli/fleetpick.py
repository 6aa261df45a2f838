"""Which fleet a load run uses: the coordinator given (``--coordinator``, else
``$CALLFLEET_COORDINATOR``), else one answering on the default clients URL (the fleet
``callfleet up`` starts), else an embedded fleet started for this run only (``--embedded``
asks for one always). The command says which it used."""

from __future__ import annotations

import argparse
import math
import os
from typing import Any

from coordinator.cli import metrics_options
from coordinator.cli.options import DEFAULT_CLIENTS, counted
from coordinator.client import Error, Lib
from proto import ProtoError
from proto.dist import parse_dist

#: most agents an embedded fleet gets by default on one host
MAX_AUTO_AGENTS = 32
#: seconds a coordinator on the default URL has to answer before an embedded fleet is started
PROBE_S = 1.0
#: seconds to wait for each reply once the fleet is chosen
REPLY_S = 15.0


class NoFleet(Exception):
    """The fleet asked for does not answer (or an embedded one cannot start)."""


def _why(exc: BaseException) -> str:
    """An error in one line, without the op-id noise of its text."""
    if isinstance(exc, Error):
        return f"{exc.err_code}: {exc.err_msg}"
    if isinstance(exc, ProtoError):
        return f"{exc.code}: {exc.msg}"
    return str(exc)


def auto_agents(profile: dict[str, Any]) -> int:
    """Enough agents for the run's concurrency: rate x (hold + setup), 4 slots each (2 per
    direction when the fleet answers itself)."""
    hold = parse_dist(str(profile.get("hold", "1"))).mean
    concurrent = profile["rate"] * (hold + 0.3)
    if profile.get("max_concurrent"):
        concurrent = min(concurrent, profile["max_concurrent"])
    per_agent = 2 if profile.get("self") else 4
    # an agent holds 8 accounts: its calling identities and (self) one answering identity
    identities = math.ceil(int(profile.get("callers") or 0) / (7 if profile.get("self") else 8))
    return int(max(1, identities, min(MAX_AUTO_AGENTS, math.ceil(concurrent / per_agent))))


def pick(args: argparse.Namespace, profile: dict[str, Any], say: Any) -> Lib:
    """The fleet to run on; ``say`` tells the user which (one line)."""
    url = args.coordinator or os.environ.get("CALLFLEET_COORDINATOR", "")
    embedded = args.embedded or args.metrics_port is not None  # /metrics of a fleet of its own
    if url and not embedded:
        try:
            lib = Lib.connect(url, timeout=REPLY_S, server_key=args.server_key, key=args.key)
        except (Error, ProtoError) as exc:
            raise NoFleet(f"the coordinator at {url} does not answer: "
                          f"{_why(exc)}") from None
        say(f"fleet at {url} ({counted(len(lib.agents()), 'agent')})")
        return lib
    if not embedded:
        try:
            lib = Lib.connect(DEFAULT_CLIENTS, timeout=PROBE_S, server_key=args.server_key,
                              key=args.key)
        except (Error, ProtoError):
            pass  # none answers: an embedded fleet
        else:
            lib.timeout = lib.session.timeout = REPLY_S
            say(f"fleet at {DEFAULT_CLIENTS} ({counted(len(lib.agents()), 'agent')}; --embedded for a "
                "fleet of this run's own)")
            return lib
    return _embedded(args, profile, say)


def _embedded(args: argparse.Namespace, profile: dict[str, Any], say: Any) -> Lib:
    n = args.agents or auto_agents(profile)
    say(f"embedded fleet of {counted(n, 'agent')}")
    # the fleet's own notes (agents joining and leaving) only when asked: --log-level debug
    level = "warning" if args.log_level == "info" else args.log_level
    extra = ["--log-level", level, *metrics_options.coordinator_args(args)]
    try:
        lib = Lib.start_local(agents=n, coordinator_args=extra)
    except (Error, ProtoError, RuntimeError, OSError) as exc:
        raise NoFleet(f"the embedded fleet did not start: {_why(exc)}") from None
    if lib.fleet is not None and lib.fleet.metrics_url:
        say(f"Prometheus metrics at {lib.fleet.metrics_url}")
    return lib
