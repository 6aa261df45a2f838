"""The agent's one pjsua2 Endpoint: start it (null audio device, UDP transport), and tear it down
in the order PJSIP's assertions demand: calls, then accounts, then the library."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from agent.state import AgentState

#: PJSUA_MAX_CALLS in the pjsua2-python wheel: one Endpoint never holds more calls.
PJSUA_MAX_CALLS = 4
#: PJSUA_MAX_ACC in the wheel: a 9th account aborts the process (assertion in pjsua_acc_add).
PJSUA_MAX_ACC = 8
#: RTP/RTCP ports each agent owns when given a port range (RTP+RTCP per call, with room to spare)
RTP_SPAN = 20


class StartError(Exception):
    """The Endpoint could not start (e.g. the SIP port is taken); the message says why."""


@dataclass(frozen=True)
class EndpointOptions:
    sip_host: str = "127.0.0.1"
    sip_port: int = 0
    max_calls: int = PJSUA_MAX_CALLS
    log_level: int = 0
    user_agent: str = "callfleet"
    #: the address peers must use (Via/Contact/SDP) when it differs from ``sip_host`` (NAT)
    public_addr: str = ""
    #: first RTP port and how many ports from there (0: PJSIP's default search from 4000)
    rtp_port: int = 0
    rtp_port_range: int = 0
    #: "null": the null sound device clocks the conference bridge, so RTP flows; "none": no
    #: device and no clock (signalling-only agents, the cheapest for call-rate runs)
    audio: str = "null"
    #: the conference bridge's clock rate (Hz); 8000 matches G.711, so no call is resampled
    clock_rate: int = 16000
    #: codecs offered first, in this order (names as PJSIP lists them, e.g. PCMU or
    #: speex/16000); the others follow at their own priority
    codecs: tuple[str, ...] = ("PCMU", "PCMA")


#: the options of the started Endpoint (one per process): accounts take their media settings here
_started = EndpointOptions()


def account_media(cfg: Any) -> None:
    """Give an AccountConfig the media transport settings of this agent: RTP binds the SIP
    address (not every interface), SDP advertises the public address, ports stay in the agent's
    own range so agents on one host never collide."""
    tc = cfg.mediaConfig.transportConfig
    if _started.sip_host not in ("", "0.0.0.0"):
        tc.boundAddress = _started.sip_host
    if _started.public_addr:
        tc.publicAddress = _started.public_addr
    if _started.rtp_port:
        tc.port = _started.rtp_port
        tc.portRange = _started.rtp_port_range


def start(opts: EndpointOptions) -> tuple[Any, list[str]]:
    """A started Endpoint on the polling model (no PJSIP worker threads) and its SIP addresses
    (as advertised: the public address when one is given)."""
    global _started
    _started = opts
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.maxCalls = min(opts.max_calls, PJSUA_MAX_CALLS)
    cfg.uaConfig.userAgent = opts.user_agent
    cfg.logConfig.level = opts.log_level
    cfg.logConfig.consoleLevel = opts.log_level
    # no PJSIP DNS resolver and no STUN (later advisories of 2.15.1): SIP hosts are numeric
    # or resolved by the system, never by PJSIP's own resolver
    cfg.uaConfig.nameserver.clear()
    cfg.uaConfig.stunServer.clear()
    # send every 20 ms frame, silence too, as phones do: media load and loss figures need it
    cfg.medConfig.noVad = True
    cfg.medConfig.clockRate = opts.clock_rate
    cfg.medConfig.sndClockRate = opts.clock_rate
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = opts.sip_port
    tcfg.boundAddress = opts.sip_host
    if opts.public_addr:
        tcfg.publicAddress = opts.public_addr
    try:
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    except pj.Error as exc:
        ep.libDestroy()
        raise StartError(f"cannot open SIP UDP on {opts.sip_host}:{opts.sip_port}: "
                         f"{getattr(exc, 'reason', '') or exc} (status {getattr(exc, 'status', '?')})"
                         ) from None
    ep.libStart()
    prefer_codecs(ep, opts.codecs)
    if opts.audio == "none":
        ep.audDevManager().setNoDev()
    else:
        ep.audDevManager().setNullDev()
    info = ep.transportGetInfo(tid)
    return ep, [f"udp:{info.localName}"]


def prefer_codecs(ep: Any, names: tuple[str, ...]) -> None:
    """Offer ``names`` first, in order; every other codec keeps its place after them. An unknown
    name is a StartError (the agent says which codecs the build has)."""
    have = [str(c.codecId) for c in ep.codecEnum2()]
    for rank, name in enumerate(names):
        matches = [cid for cid in have if cid.lower() == name.lower()
                   or cid.lower().startswith(name.lower() + "/")]
        if not matches:
            ep.libDestroy()
            raise StartError(f"no codec {name!r} in this PJSIP build (it has: {', '.join(have)})")
        for cid in matches:
            ep.codecSetPriority(cid, 255 - rank)


def _hangup_all(state: AgentState) -> None:
    prm = pj.CallOpParam(True)
    for call in list(state.calls.values()):
        try:
            call.hangup(prm)
        except pj.Error:
            pass  # already disconnecting


def _drop_all(state: AgentState) -> None:
    """Release every Call, then every Account. A pjsua2 object that outlives libDestroy aborts
    the process when it is collected, so no reference may survive this function (not even a
    loop variable: that is why this is a function of its own)."""
    state.admission.clear()  # parked incoming calls (agent.admission) hold their Call objects
    for call in list(state.calls.values()):
        call.finish()
    for gen in state.loads.values():
        gen.close()  # load runs hold media objects
    state.loads.clear()  # load runs hold accounts
    state.reap()
    for acc in state.accounts.values():
        acc.shutdown()
    state.accounts.clear()


def stop(ep: Any, state: AgentState, grace_s: float = 3.0) -> None:
    """Hang up every call, let PJSIP finish the transactions, then destroy in the safe order."""
    _hangup_all(state)
    deadline = time.monotonic() + grace_s
    while state.calls and time.monotonic() < deadline:
        ep.libHandleEvents(10)
    _drop_all(state)
    # let the unregistrations and final responses leave
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        ep.libHandleEvents(10)
    ep.libDestroy()
