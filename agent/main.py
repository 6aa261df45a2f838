"""`callfleet agent`: one worker process with one pjsua2 Endpoint, driven by the coordinator."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from types import FrameType

import zmq

import proto
from agent import endpoint, link
from agent.bridge import Bridge
from agent.budget import SocketBudget
from agent.loop import AgentLoop
from agent.state import AgentState
from proto import curve, limits
from proto.ops import SIP_TRANSPORTS


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="callfleet agent", description=__doc__)
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
    p.add_argument("--log-level", type=int, default=0, help="PJSIP log level (0-6)")
    p.add_argument("--codecs", default="PCMU,PCMA",
                   help="codecs offered first, in order (default PCMU,PCMA: G.711); the rest follow")
    p.add_argument("--clock-rate", type=int, choices=(8000, 16000, 32000, 48000), default=16000,
                   help="conference bridge clock rate in Hz")
    p.add_argument("--audio", default="null", metavar="null|none|NAME",
                   help="null: the null sound device clocks media (RTP flows); none: no device, "
                   "no clock (signalling-only, cheapest for call-rate runs); NAME: that sound "
                   "device (lib.enum_snd_dev lists them; the pjsua2-python wheel has none)")
    p.add_argument("--fault-bridge-leak", action="store_true",
                   help="fault injection for tests: leave PJSIP 2.15.1's conference bridge leak "
                        "unmitigated, so the agent drains and recycles itself")
    curve.add_options(p)
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


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    opts = endpoint.EndpointOptions(sip_host=args.sip_host, sip_port=args.sip_port,
                                    max_calls=args.max_calls, log_level=args.log_level,
                                    public_addr=args.public_addr, rtp_port=args.rtp_port,
                                    rtp_port_range=endpoint.RTP_SPAN if args.rtp_port else 0,
                                    audio=args.audio, clock_rate=args.clock_rate,
                                    codecs=tuple(c for c in args.codecs.split(",") if c),
                                    transports=args.transports,
                                    tls_cert=args.tls_cert, tls_key=args.tls_key,
                                    tls_port=args.tls_port,
                                    fault_bridge_leak=args.fault_bridge_leak)
    try:
        ep, sip_addrs = endpoint.start(opts)
    except endpoint.StartError as exc:
        print(f"callfleet agent {args.name}: {exc}", file=sys.stderr)
        return 2
    state = AgentState(name=args.name, capacity=opts.max_calls, budget=budget_for(args.transports),
                       max_accounts=endpoint.PJSUA_MAX_ACC)
    hello = {"name": args.name, "host": socket.gethostname(), "pid": os.getpid(), "sip": sip_addrs,
             "capacity": state.capacity, "max_accounts": state.max_accounts,
             "pjsip": ep.libVersion().full}
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = link.connect(ctx, args.coordinator, args.name, args.keys)
    state.bridge = Bridge(ep, not endpoint.bridge_reclaims(), opts.clock_rate)
    loop = AgentLoop(state, ep, sock, hello, state.bridge)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        loop.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        loop.run()
    finally:
        # from here on a repeated SIGTERM must not cut the orderly teardown short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        state.shutting_down = True
        reason = "recycle" if loop.recycle else "shutdown"
        state.end_reason = reason
        # the coordinator places nothing more here and moves our accounts; it must not wait
        # for the heartbeat timeout to learn we are gone either (stage "gone" below)
        bye = loop.fatal is None
        if bye:
            link.send(sock, proto.req("agent.bye", {"stage": "leaving", "reason": reason},
                                      "bye-1"))
        endpoint.stop(ep, state)
        loop.flush()
        if bye:
            link.send(sock, proto.req("agent.bye", {"stage": "gone", "reason": reason}, "bye-2"))
        sock.close(linger=500)  # let the last events (calls ended by shutdown) leave
        ctx.term()
    print(f"callfleet agent {args.name}: {state.admission.summary()}", file=sys.stderr)
    if loop.fatal:
        print(f"callfleet agent {args.name}: {loop.fatal}", file=sys.stderr)
        return 3
    if loop.recycle:
        recycle(args, sip_addrs, state.draining)
    return 0


def recycle(args: argparse.Namespace, sip_addrs: list[str], why: str) -> None:
    """Start this agent again in this process (same pid, arguments and supervisor): PJSIP is
    gone, so is everything it leaked. Ports the OS chose are asked for again, so peers reach
    the agent where they did; descriptors PJSIP leaked are not inherited."""
    print(f"callfleet agent {args.name}: recycling ({why})", file=sys.stderr, flush=True)
    sys.stdout.flush()
    again = []
    ports = {a.split(":", 1)[0]: a.rsplit(":", 1)[1] for a in sip_addrs}
    if not args.sip_port and "udp" in ports:
        again += ["--sip-port", ports["udp"]]
    if not args.tls_port and "tls" in ports:
        again += ["--tls-port", ports["tls"]]
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:], *again])
