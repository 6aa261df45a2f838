"""`callfleet up`: the coordinator and N agents in the foreground under a real supervisord.

The configuration is generated from the options (agents restart on crash, stop as a group,
with more time to stop than a call teardown needs). Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from coordinator.cli.keys import add_server_options
from coordinator.cli.options import DEFAULT_AGENTS, DEFAULT_CLIENTS, DEFAULT_EVENTS


def _q(text: str) -> str:
    """supervisord interpolates %(name)s: protect literal percent signs."""
    return text.replace("%", "%%")


def _curve_args(args: argparse.Namespace) -> tuple[str, str]:
    """The coordinator's and the agents' CURVE options (empty without ``--key``). The agents'
    --server-key is the coordinator's own certificate file: it holds the public key too."""
    if not args.key and not args.insecure:
        return "", ""
    for name in ("key", "agents_keys", "clients_keys", "readonly_keys", "admin_keys", "agent_key"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    co = (f" --key={shlex.quote(args.key)} --agents-keys={shlex.quote(args.agents_keys)}"
          f" --clients-keys={shlex.quote(args.clients_keys)}"
          f" --readonly-keys={shlex.quote(args.readonly_keys)}"
          f" --admin-keys={shlex.quote(args.admin_keys)}") if args.key else ""
    if args.insecure:
        co += " --insecure"
    agent = (f" --server-key={shlex.quote(args.key)} --key={shlex.quote(args.agent_key)}"
             if args.key else "")
    return _q(co), _q(agent)


def render(workdir: Path, agents: int, agents_url: str, clients_url: str, events_url: str,
           sip_host: str = "127.0.0.1", python: str = sys.executable,
           coordinator_extra: str = "", agent_extra: str = "") -> str:
    """The supervisord configuration of one host running the coordinator and ``agents`` agents
    (``*_extra``: further options, already quoted for supervisord)."""
    d, py = _q(str(workdir)), _q(python)
    urls = (f"--agents-bind {_q(agents_url)} --clients-bind {_q(clients_url)} "
            f"--events-bind {_q(events_url)}{coordinator_extra}")
    agent_cmd = (f"{py} -m agent --coordinator {_q(agents_url)} --name agent-%(process_num)02d "
                 f"--sip-host {_q(sip_host)}")
    proc = ("autorestart=true\nstartsecs=1\nstartretries=3\nstopasgroup=true\n"
            "killasgroup=true\nstopsignal=TERM\nstopwaitsecs=15\nredirect_stderr=true\n")
    return f"""[supervisord]
nodaemon=true
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
loglevel=info

[unix_http_server]
file={d}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{d}/supervisor.sock

[program:coordinator]
command={py} -m coordinator.cli coordinator {urls}
priority=10
stdout_logfile={d}/coordinator.log
{proc}
[program:agent]
command={agent_cmd}{agent_extra}
process_name=agent-%(process_num)02d
numprocs={agents}
numprocs_start=1
priority=20
stdout_logfile={d}/%(program_name)s-%(process_num)02d.log
{proc}"""


def cmd_up(args: argparse.Namespace) -> int:
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="callfleet-up-"))
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "supervisord.conf"
    if args.key and not args.agent_key:
        print("callfleet up: --key needs --agent-key (the agents' own .key_secret file)",
              file=sys.stderr)
        return 2
    co_extra, agent_extra = _curve_args(args)
    conf.write_text(render(workdir, args.agents, args.agents_bind, args.clients_bind,
                           args.events_bind, args.sip_host, coordinator_extra=co_extra,
                           agent_extra=agent_extra))
    print(f"callfleet up: {args.agents} agents under supervisord ({conf}); clients connect to "
          f"{args.clients_bind}; Ctrl-C stops", flush=True)
    sup = subprocess.Popen([sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(conf)],
                           stdin=subprocess.DEVNULL)

    def forward(signum: int, frame: FrameType | None) -> None:
        if sup.poll() is None:
            sup.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = sup.wait()
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
    add_server_options(u)
    u.add_argument("--agent-key", default="", metavar="FILE",
                   help="with --key: the agents' key pair (a .key_secret certificate whose "
                        "public key is in --agents-keys)")
    u.set_defaults(func=cmd_up)
