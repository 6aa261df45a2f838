"""`callfleet agent`'s options: what an agent listens on, where its ports come from, how it
logs, and the socket budget its transports imply."""

from __future__ import annotations

import argparse
import os
import socket

from agent import endpoint
from agent.budget import SocketBudget
from proto import curve, limits, logsetup
from proto.ops import SIP_TRANSPORTS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="callfleet agent",
                                description="One worker process with one pjsua2 Endpoint, "
                                "driven by the coordinator.")
    p.add_argument("--coordinator", default="tcp://127.0.0.1:5600", help="coordinator agents URL")
    p.add_argument("--name", default=f"{socket.gethostname()[:32]}-{os.getpid()}",
                   help="unique agent name in the fleet")
    p.add_argument("--sip-host", default="127.0.0.1", help="address the SIP transport binds")
    p.add_argument("--sip-port", type=int, default=0, help="SIP UDP port (0: any free port)")
    p.add_argument("--public-addr", default="",
                   help="address peers must use to reach this agent (SIP Via/Contact, SDP), when "
                        "it differs from --sip-host (e.g. behind NAT); advertised in hello")
    p.add_argument("--index", type=int, default=0,
                   help="this agent's number on its host (supervisord's process_num): picks its "
                        "ports from --sip-port-base and --rtp-port-base")
    p.add_argument("--sip-port-base", type=int, default=0,
                   help="SIP UDP port = this + --index (instead of --sip-port)")
    p.add_argument("--rtp-port-base", type=int, default=0,
                   help=f"RTP/RTCP ports from this + --index * {endpoint.RTP_SPAN}, "
                        f"{endpoint.RTP_SPAN} ports per agent (0: PJSIP's default)")
    p.add_argument("--max-calls", type=int, default=endpoint.PJSUA_MAX_CALLS,
                   help=f"concurrent calls, at most {endpoint.PJSUA_MAX_CALLS}")
    p.add_argument("--transports", default="udp",
                   help="SIP transports to listen on, comma-separated: udp (always), tcp, tls; "
                        "TCP uses the SIP port number, TLS --tls-port")
    p.add_argument("--tls-cert", default="", help="TLS certificate (PEM file), for --transports tls")
    p.add_argument("--tls-key", default="", help="TLS private key (PEM file), for --transports tls")
    p.add_argument("--tls-port", type=int, default=0, help="TLS port (0: any free port)")
    p.add_argument("--pjsip-log-level", type=int, default=0, choices=range(7), metavar="0-6",
                   help="PJSIP's own log level (default 0: off)")
    logsetup.add_option(p, default="warning")
    p.add_argument("--codecs", default="PCMU,PCMA",
                   help="codecs offered first, in order (default PCMU,PCMA: G.711); the rest follow")
    p.add_argument("--clock-rate", type=int, choices=(8000, 16000, 32000, 48000), default=16000,
                   help="conference bridge clock rate in Hz")
    p.add_argument("--audio", default="null", metavar="null|none|NAME",
                   help="null: the null sound device clocks media (RTP flows); none: no device, "
                   "no clock (signalling-only, cheapest for call-rate runs); NAME: that sound "
                   "device (lib.enum_snd_dev lists them; the pjsua2-python wheel has none)")
    p.add_argument("--no-supported-norefersub", dest="supported_norefersub",
                   action="store_false",
                   help="leave \"norefersub\" out of the Supported header (as pjsua's option; "
                        "for peers that refuse it)")
    p.add_argument("--fault-bridge-leak", action="store_true",
                   help="fault injection for tests: leave PJSIP 2.15.1's conference bridge leak "
                        "unmitigated, so the agent drains and recycles itself")
    curve.add_options(p)
    return p


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = parser()
    args = p.parse_args(argv)
    try:
        args.keys = curve.from_args(args)
    except curve.KeyFileError as exc:
        p.error(str(exc))
    if not 1 <= args.max_calls <= endpoint.PJSUA_MAX_CALLS:
        p.error(f"--max-calls must be 1..{endpoint.PJSUA_MAX_CALLS}")
    if args.index < 0:
        p.error("--index must be >= 0")
    if not 1 <= len(args.name) <= limits.MAX_AGENT_NAME:
        p.error(f"--name must be 1..{limits.MAX_AGENT_NAME} characters (ids of its calls are "
                "made from it)")
    if args.sip_port_base:
        if args.sip_port:
            p.error("give --sip-port or --sip-port-base, not both")
        args.sip_port = args.sip_port_base + args.index
    if not 0 <= args.sip_port <= 65535:
        p.error(f"SIP port {args.sip_port} is out of range")
    args.transports = _transports(p, args)
    args.rtp_port = args.rtp_port_base + args.index * endpoint.RTP_SPAN if args.rtp_port_base else 0
    if not 0 <= args.rtp_port <= 65535 - endpoint.RTP_SPAN:
        p.error(f"RTP ports from {args.rtp_port} are out of range")
    return args


def _transports(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    """The transports asked for, UDP first, each once; TLS needs its certificate and key."""
    asked = [t.strip().lower() for t in args.transports.split(",") if t.strip()]
    bad = sorted(set(asked) - set(SIP_TRANSPORTS))
    if bad:
        p.error(f"unknown transport {', '.join(bad)} (use {', '.join(SIP_TRANSPORTS)})")
    if "tls" in asked and not (args.tls_cert and args.tls_key):
        p.error("--transports tls needs --tls-cert and --tls-key")
    if not 0 <= args.tls_port <= 65535:
        p.error(f"TLS port {args.tls_port} is out of range")
    return tuple(t for t in SIP_TRANSPORTS if t == "udp" or t in asked)


def budget_for(transports: tuple[str, ...]) -> SocketBudget:
    """PJSIP's socket table also holds the TCP and TLS listeners, and each call over them may
    open a connection: one socket less per listener, one more per call."""
    streams = [t for t in transports if t != "udp"]
    return SocketBudget(total=48 - len(streams), per_call=3 if streams else 2)
