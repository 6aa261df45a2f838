"""`callfleet front --listen HOST:PORT`: one SIP address for the whole fleet. Runs Kamailio with
the configuration coordinator/front generates and keeps its dispatcher list equal to the
coordinator's ready agents, until Ctrl-C or SIGTERM (under supervisord: the ``front`` program).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from coordinator.cli.options import client_options, connect, failure
from coordinator.cli.urls import hostport
from coordinator.client import Error
from coordinator.front.config import FrontConfig, kamailio_exe, render
from coordinator.front.follow import Follower
from coordinator.front.process import Kamailio, KamailioError
from proto.extras import missing


def udp_taken(host: str, port: int) -> str:
    """Why Kamailio cannot listen on ``host:port`` ('' : it can)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((host, port))
    except OSError as exc:
        return f"the SIP front cannot listen on udp {host}:{port}: {exc.strerror or exc}"
    return ""


def cmd_front(args: argparse.Namespace) -> int:
    host, port = args.listen
    exe = args.kamailio or kamailio_exe()
    if exe is None:
        print("callfleet front: kamailio is not installed (Debian package kamailio)", file=sys.stderr)
        return 2
    need = missing("jinja2")
    busy = udp_taken(host, port)
    if need or busy:
        print(f"callfleet front: {busy or 'needs ' + need}", file=sys.stderr)
        return 2
    try:  # before any file is made: a wrong --coordinator leaves nothing behind
        lib = connect(args)
    except Error as exc:
        return failure("front", exc, args.coordinator)
    workdir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="callfleet-front-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = FrontConfig(host, port, workdir, children=args.children)

    def say(text: str) -> None:
        print(f"callfleet front {cfg.uri}: {text}", flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    kam = Kamailio(cfg, exe)
    try:
        cfg.cfg_file.write_text(render(cfg))
        follower = Follower(cfg, lib.agents, say)
        follower.write_initial()
        kam.start()
        say(f"kamailio {kam.proc.pid if kam.proc else '?'} listening (config and log in {workdir})")
        code = follower.run(kam, stop)
    except (KamailioError, Error) as exc:
        print(f"callfleet front: {exc}", file=sys.stderr)
        code = 1
    finally:
        kam.stop()
        lib.destroy()
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)
    if code == 0:
        say("stopped")
    return code


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    f = sub.add_parser("front", help="one SIP address for the fleet: Kamailio's dispatcher "
                                      "over every ready agent")
    f.add_argument("--listen", type=hostport, required=True, metavar="HOST:PORT",
                   help="the front's SIP address (UDP)")
    f.add_argument("--dir", default="", help="Kamailio's configuration, dispatcher list and log "
                                              "(default: a temp dir)")
    f.add_argument("--children", type=int, default=2, help="Kamailio's UDP workers")
    f.add_argument("--kamailio", default="", help="the kamailio program (default: on PATH or "
                                                  "/usr/sbin/kamailio)")
    client_options(f)
    f.set_defaults(func=cmd_front)
