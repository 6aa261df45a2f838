"""`callfleet up`: the coordinator and N agents in the foreground under a real supervisord.

It runs the configuration ``deploy/`` ships for a coordinator host (agents restart on crash,
the FATAL listener reports an agent that keeps failing, everything stops as a group with more
time than a call teardown needs), its settings taken from ``up``'s options. Ctrl-C or SIGTERM
stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from coordinator.cli import metrics_options
from coordinator.cli import web as dashboard
from coordinator.cli.front import udp_taken
from coordinator.cli.keys import add_server_options
from coordinator.cli.options import DEFAULT_AGENTS, DEFAULT_CLIENTS, DEFAULT_EVENTS, counted
from coordinator.cli.urls import hostport, taken
from coordinator.client.fleet import RTP_SPAN, rtp_port_base
from coordinator.front.config import kamailio_exe
from proto.curve import ClientKeys, KeyFileError
from proto.extras import missing

log = logging.getLogger("callfleet up")

#: the supervisord configuration of a coordinator host: the one deploy/ ships (a link to it)
TEMPLATE = Path(__file__).with_name("templates") / "coordinator-host.conf"


def environment(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    """The CALLFLEET_* settings of the template (deploy/callfleet.env lists them) for ``up``'s
    options: agents named agent-01.., SIP ports the OS picks, RTP ports from a free span."""
    keys = {name: os.path.abspath(getattr(args, name)) if getattr(args, name) else ""
            for name in ("key", "agents_keys", "clients_keys", "readonly_keys", "admin_keys",
                         "agent_key")}
    return {
        "CALLFLEET_PYTHON": sys.executable, "CALLFLEET_LOG_DIR": str(workdir),
        "CALLFLEET_AGENTS_BIND": args.agents_bind, "CALLFLEET_CLIENTS_BIND": args.clients_bind,
        "CALLFLEET_EVENTS_BIND": args.events_bind, "CALLFLEET_LOST_AFTER": "",
        "CALLFLEET_COORDINATOR": args.agents_bind, "CALLFLEET_AGENTS": str(args.agents),
        "CALLFLEET_NAME": "agent", "CALLFLEET_SIP_HOST": args.sip_host,
        "CALLFLEET_PUBLIC_ADDR": "", "CALLFLEET_SIP_PORT_BASE": "0",
        "CALLFLEET_RTP_PORT_BASE": str(rtp_port_base(args.agents) - RTP_SPAN),
        "CALLFLEET_COORDINATOR_KEY": keys["key"], "CALLFLEET_AGENTS_KEYS": keys["agents_keys"],
        "CALLFLEET_CLIENTS_KEYS": keys["clients_keys"],
        "CALLFLEET_READONLY_KEYS": keys["readonly_keys"],
        "CALLFLEET_ADMIN_KEYS": keys["admin_keys"],
        "CALLFLEET_INSECURE": "1" if args.insecure else "",
        "CALLFLEET_METRICS_PORT": "" if args.metrics_port is None else str(args.metrics_port),
        "CALLFLEET_METRICS_HOST": args.metrics_host,
        # the agents' --server-key is the coordinator's own certificate: it holds the public key
        "CALLFLEET_SERVER_KEY": keys["key"], "CALLFLEET_AGENT_KEY": keys["agent_key"],
        **front_environment(args)}


def front_environment(args: argparse.Namespace) -> dict[str, str]:
    """The front program's settings: on when --sip-front is given, reading the agent list
    from the clients socket (a wildcard bind is reached on loopback)."""
    front = args.sip_front
    listen = "" if front is None else (f"[{front[0]}]:{front[1]}" if ":" in front[0]
                                       else f"{front[0]}:{front[1]}")
    clients = re.sub(r"://(\*|0\.0\.0\.0)(?=:)", "://127.0.0.1", args.clients_bind)
    clients = re.sub(r"://\[::\](?=:)", "://[::1]", clients)
    return {"CALLFLEET_SIP_FRONT": listen, "CALLFLEET_FRONT_AUTOSTART": "true" if listen else "false",
            "CALLFLEET_FRONT_COORDINATOR": clients,
            "CALLFLEET_FRONT_KEY": os.path.abspath(args.front_key) if args.front_key else ""}


def _front_problem(args: argparse.Namespace) -> str:
    """Why --sip-front cannot run ('' : it can, or none is asked for)."""
    if args.sip_front is None:
        return ""
    if kamailio_exe() is None:
        return "--sip-front runs Kamailio, which is not installed (Debian package kamailio)"
    need = missing("jinja2")
    if need:
        return f"--sip-front needs {need}"
    if args.key and not args.front_key:
        return "--sip-front with --key needs --front-key (the front's own .key_secret)"
    return udp_taken(*args.sip_front)


def cmd_up(args: argparse.Namespace) -> int:
    if args.key and not args.agent_key:
        log.error("--key needs --agent-key (the agents' own .key_secret file)")
        return 2
    need = missing("supervisor", "pjsua2")
    if need:
        log.error("runs supervisord and agents (pjsua2), not all installed: %s", need)
        return 2
    busy = next((why for url in (args.agents_bind, args.clients_bind, args.events_bind)
                 if url and (why := taken(url))), "")
    if not busy and args.metrics_port is not None:
        busy = metrics_options.unusable(args.metrics_host, args.metrics_port)
    busy = busy or _front_problem(args)
    if busy:  # found now rather than as a coordinator that supervisord gives up on
        log.error("%s", busy)
        return 2
    try:  # the dashboard (--web) is checked before anything starts
        web_plan, web_keys = dashboard.check_beside(args), _web_keys(args)
    except (dashboard.Unusable, KeyFileError) as exc:
        log.error("%s", exc)
        return 2
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="callfleet-up-"))
    workdir.mkdir(parents=True, exist_ok=True)
    metrics = ("" if args.metrics_port is None else
               f"; Prometheus /metrics on {args.metrics_host}:{args.metrics_port or 'a free port'}")
    front = "" if args.sip_front is None else \
        f"; SIP front on udp {front_environment(args)['CALLFLEET_SIP_FRONT']}"
    print(f"callfleet up: {counted(args.agents, 'agent')} under supervisord ({TEMPLATE.name}, logs in "
          f"{workdir}); clients connect to {args.clients_bind}{metrics}{front}; Ctrl-C stops",
          flush=True)
    sup = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-n", "-c",
                            str(TEMPLATE)], stdin=subprocess.DEVNULL,
                           env={**os.environ, **environment(args, workdir)})

    def forward(signum: int, frame: FrameType | None) -> None:
        if sup.poll() is None:
            sup.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    web = dashboard.start_beside(web_plan, args.clients_bind, web_keys, print)
    code = sup.wait()
    if web is not None:
        web.stop()
    if not args.dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    u = sub.add_parser("up", help="coordinator + N agents under supervisord, in the foreground")
    u.add_argument("--agents", type=int, default=4, help="number of agents")
    u.add_argument("--agents-bind", default=DEFAULT_AGENTS)
    u.add_argument("--clients-bind", default=DEFAULT_CLIENTS)
    u.add_argument("--events-bind", default=DEFAULT_EVENTS)
    u.add_argument("--sip-host", default="127.0.0.1", help="address agents' SIP transports bind")
    u.add_argument("--dir", default="", help="keep config and logs here (default: a temp dir)")
    metrics_options.add_options(u, "the coordinator: ")
    add_server_options(u)
    u.add_argument("--agent-key", default="", metavar="FILE",
                   help="with --key: the agents' key pair (a .key_secret certificate whose "
                        "public key is in --agents-keys)")
    dashboard.add_beside_option(u, "the fleet")
    u.add_argument("--web-key", default="", metavar="FILE",
                   help="with --key and --web: the dashboard's client key pair (a .key_secret "
                        "on --clients-keys, or --readonly-keys for a read-only page)")
    u.add_argument("--sip-front", type=hostport, default=None, metavar="HOST:PORT",
                   help="also run the fleet's SIP front there (callfleet front: Kamailio's "
                        "dispatcher over every ready agent)")
    u.add_argument("--front-key", default="", metavar="FILE",
                   help="with --key and --sip-front: the front's client key pair (a .key_secret "
                        "on --clients-keys or --readonly-keys)")
    u.set_defaults(func=cmd_up)


def _web_keys(args: argparse.Namespace) -> ClientKeys | None:
    """The dashboard's CURVE keys: the coordinator's public key (its key file holds it) and
    --web-key; none for a fleet without keys."""
    if not args.web or not args.key:
        return None
    if not args.web_key:
        raise KeyFileError("--web with --key needs --web-key (the dashboard's own .key_secret)")
    return ClientKeys.load(args.key, args.web_key)
