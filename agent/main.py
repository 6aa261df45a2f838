"""`callfleet agent`: one worker process with one pjsua2 Endpoint, driven by the coordinator."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from types import FrameType
from typing import Any

import zmq

import proto
from agent import endpoint, link
from agent.bridge import Bridge
from agent.loop import AgentLoop
from agent.options import budget_for, parse
from agent.state import AgentState
from agent.waker import Waker
from proto import logsetup


def endpoint_options(args: argparse.Namespace) -> endpoint.EndpointOptions:
    return endpoint.EndpointOptions(sip_host=args.sip_host, sip_port=args.sip_port,
                                    max_calls=args.max_calls, log_level=args.pjsip_log_level,
                                    public_addr=args.public_addr, rtp_port=args.rtp_port,
                                    rtp_port_range=endpoint.RTP_SPAN if args.rtp_port else 0,
                                    audio=args.audio, clock_rate=args.clock_rate,
                                    codecs=tuple(c for c in args.codecs.split(",") if c),
                                    transports=args.transports,
                                    tls_cert=args.tls_cert, tls_key=args.tls_key,
                                    tls_port=args.tls_port,
                                    supported_norefersub=args.supported_norefersub,
                                    fault_bridge_leak=args.fault_bridge_leak)


def main(argv: list[str] | None = None, forked: bool = False) -> int:
    """``forked``: started by the fork server (agent.forkserver), whose own program a recycling
    agent must not run again: it runs ``python -m agent`` with ``argv`` instead."""
    args = parse(argv)
    logsetup.configure(args.log_level)
    log = logging.getLogger(f"callfleet agent {args.name}")
    opts = endpoint_options(args)
    try:
        ep, sip_addrs = endpoint.start(opts)
    except endpoint.StartError as exc:
        log.error("%s", exc)
        return 2
    state = AgentState(name=args.name, capacity=opts.max_calls, budget=budget_for(args.transports),
                       max_accounts=endpoint.PJSUA_MAX_ACC)
    hello = {"name": args.name, "host": socket.gethostname(), "pid": os.getpid(), "sip": sip_addrs,
             "capacity": state.capacity, "max_accounts": state.max_accounts,
             "pjsip": ep.libVersion().full}
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    sock = link.connect(ctx, args.coordinator, args.name, args.keys)
    state.bridge = Bridge(ep, not endpoint.bridge_reclaims(), opts.clock_rate)
    listener = endpoint.udp_listener(ep, opts)
    waker = Waker(int(sock.getsockopt(zmq.FD)), listener) if listener else None
    loop = AgentLoop(state, ep, sock, hello, state.bridge, waker=waker)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        loop.stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if waker is not None:
        waker.start()
    try:
        loop.run()
    finally:
        if waker is not None:
            waker.close()
        teardown(ep, state, loop, ctx, sock)
    log.debug("%s", state.admission.summary())
    if loop.fatal:
        log.error("%s", loop.fatal)
        return 3
    if loop.recycle:
        program = ([sys.executable, "-m", "agent", *(argv or [])] if forked
                   else [sys.executable, *sys.orig_argv[1:]])
        recycle(args, sip_addrs, state.draining, program)
    return 0


def teardown(ep: Any, state: AgentState, loop: AgentLoop, ctx: zmq.Context[zmq.Socket[bytes]],
             sock: zmq.Socket[bytes]) -> None:
    """Hang up, say goodbye, destroy the Endpoint in PJSIP's order, close the link."""
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
        link.send(sock, proto.req("agent.bye", {"stage": "leaving", "reason": reason}, "bye-1"))
    endpoint.stop(ep, state)
    loop.flush()
    if bye:
        link.send(sock, proto.req("agent.bye", {"stage": "gone", "reason": reason}, "bye-2"))
    sock.close(linger=500)  # let the last events (calls ended by shutdown) leave
    ctx.term()


def recycle(args: argparse.Namespace, sip_addrs: list[str], why: str,
            program: list[str]) -> None:
    """Start this agent again in this process (same pid, arguments and supervisor) by running
    ``program`` (its command line): PJSIP is gone, so is everything it leaked. Ports the OS
    chose are asked for again, so peers reach the agent where they did; descriptors PJSIP
    leaked are not inherited."""
    logging.getLogger(f"callfleet agent {args.name}").warning("recycling (%s)", why)
    logging.shutdown()
    sys.stdout.flush()
    again = []
    ports = {a.split(":", 1)[0]: a.rsplit(":", 1)[1] for a in sip_addrs}
    if not args.sip_port and "udp" in ports:
        again += ["--sip-port", ports["udp"]]
    if not args.tls_port and "tls" in ports:
        again += ["--tls-port", ports["tls"]]
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.execv(sys.executable, [*program, *again])
