"""The coordinator's CURVE options (its key pair, the allow-lists, ``--insecure``) and
``callfleet keys``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import zmq.auth

from coordinator.server.security import BindPlan, ServerKeys, check_binds
from proto.curve import KeyFileError, is_local


def _flag(text: str) -> bool:
    """--insecure's optional value: '' (as an unset environment variable gives), 0, no: off."""
    return text.strip().lower() not in ("", "0", "no", "false", "off")


def add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key", default="", metavar="FILE",
                   help="the coordinator's key pair (a .key_secret certificate): every socket "
                        "speaks CURVE and admits only the keys of the allow-lists")
    p.add_argument("--agents-keys", default="", metavar="DIR",
                   help="allow-list: public keys (.key files) of the agents")
    p.add_argument("--clients-keys", default="", metavar="DIR",
                   help="allow-list: public keys of full-control clients")
    p.add_argument("--readonly-keys", default="", metavar="DIR",
                   help="allow-list: public keys of read-only clients (status, agents, events, "
                        "load.status)")
    p.add_argument("--admin-keys", default="", metavar="DIR",
                   help="allow-list: public keys of admins (full control, and the fleet-wide "
                        "ops: codec priorities, FATAL reports)")
    p.add_argument("--insecure", nargs="?", const="1", default="", type=_flag, metavar="yes|no",
                   help="allow binding a non-loopback address without keys (warns)")


def server_keys(args: argparse.Namespace) -> ServerKeys | None:
    """The keys that the options name (None: none given); raises KeyFileError."""
    lists = (args.agents_keys, args.clients_keys, args.readonly_keys,
             getattr(args, "admin_keys", ""))
    if not args.key:
        if any(lists):
            raise KeyFileError("the allow-lists need the coordinator's own key pair (--key)")
        return None
    if not args.agents_keys or not any(lists[1:]):
        raise KeyFileError("--key needs --agents-keys and at least one of --clients-keys, "
                           "--readonly-keys, --admin-keys")
    return ServerKeys.load(args.key, *lists)


def bind_plan(args: argparse.Namespace, keys: ServerKeys | None) -> BindPlan:
    """The bind rule for the coordinator's sockets, and a note on an off-loopback /metrics."""
    plan = check_binds([args.agents_bind, args.clients_bind, args.events_bind], keys is not None,
                       bool(args.insecure))
    metrics_host = getattr(args, "metrics_host", "127.0.0.1")
    if (not plan.error and getattr(args, "metrics_port", None) is not None
            and not is_local(f"tcp://{metrics_host}:0")):
        plan.warnings.append(f"/metrics on {metrics_host} is plain HTTP (read-only figures, "
                             "no SIP credentials), outside CURVE")
    return plan


def cmd_keys(args: argparse.Namespace) -> int:
    """Write NAME.key (public) and NAME.key_secret (the pair, mode 0600) in DIR."""
    directory = Path(args.dir)
    public, secret = directory / f"{args.name}.key", directory / f"{args.name}.key_secret"
    if public.exists() or secret.exists():
        print(f"callfleet keys: {public} or {secret} exists: not overwritten", file=sys.stderr)
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    old = os.umask(0o077)
    try:
        zmq.auth.create_certificates(directory, args.name)
    finally:
        os.umask(old)
    os.chmod(secret, 0o600)
    print(f"public key:  {public}\nsecret pair: {secret}")
    return 0


def add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    k = sub.add_parser("keys", help="generate a CURVE key pair (NAME.key, NAME.key_secret)")
    k.add_argument("dir", help="directory to write the two certificate files to")
    k.add_argument("--name", default="coordinator", help="file name stem (default %(default)s)")
    k.set_defaults(func=cmd_keys)
