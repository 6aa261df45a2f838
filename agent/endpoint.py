"""The agent's one pjsua2 Endpoint: start it (null audio device, its SIP transports: UDP, and TCP
or TLS when asked), and tear it down in the order PJSIP's assertions demand: calls, then
accounts, then the library."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from agent import bridge, capabilities, media_objects
from agent.state import AgentState

#: PJSUA_MAX_CALLS in the pjsua2-python wheel: one Endpoint never holds more calls.
PJSUA_MAX_CALLS = 4
#: PJSUA_MAX_ACC in the wheel: a 9th account aborts the process (assertion in pjsua_acc_add).
PJSUA_MAX_ACC = 8
#: conference bridge ports: the master (sound device) port, one per call, one per media object
#: (agent.media_objects.MAX_MEDIA_OBJECTS), and spare ones for calls whose slot is still being released
#: and for the INVITEs an agent refuses (pjsua sets up their media first: with 32 ports an
#: INVITE flood got 488 Not Acceptable Here instead of 486)
CONF_PORTS = 128
#: RTP/RTCP ports each agent owns when given a port range: an RTP+RTCP pair for every two sockets
#: of its budget (64). With 20, call churn on embedded fleets now and then found no free pair:
#: pjsua answers such an INVITE 480 ("Media init error")
RTP_SPAN = 64


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
    #: SIP transports to listen on, UDP first (load runs and default contacts use it)
    transports: tuple[str, ...] = ("udp",)
    #: certificate and private key (PEM files) of the TLS transport
    tls_cert: str = ""
    tls_key: str = ""
    #: the TLS listening port (0: any free port)
    tls_port: int = 0
    #: advertise "norefersub" (RFC 4488) in Supported, as pjsua does unless told otherwise
    supported_norefersub: bool = True
    #: fault injection (tests): leave PJSIP 2.15.1's conference bridge leak unmitigated
    #: (agent.bridge), so that draining and recycling (agent.health) can be exercised
    fault_bridge_leak: bool = False


_PJ_TYPES = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP,
             "tls": pj.PJSIP_TRANSPORT_TLS}
#: transport kind -> pjsua transport id, of the started Endpoint
_transport_ids: dict[str, int] = {}


def transport_id(kind: str) -> int | None:
    """The pjsua id of this agent's transport of ``kind`` (udp, tcp, tls); None: not listening."""
    return _transport_ids.get(kind)


def check_tls_files(cert: str, key: str) -> None:
    """PJSIP reads the certificate only at the first TLS handshake, and then fails every call:
    check now that the files load and that the key matches the certificate."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise StartError(f"cannot open SIP TLS: certificate {cert!r} / key {key!r}: "
                         f"{exc}") from None


def _create(ep: Any, kind: str, tcfg: Any, chosen: int) -> int:
    """Create the transport; TCP on the port UDP was given may find it taken by another
    program (UDP and TCP ports are apart): then any free port."""
    try:
        return int(ep.transportCreate(_PJ_TYPES[kind], tcfg))
    except pj.Error:
        if not (kind == "tcp" and chosen and tcfg.port == chosen):
            raise
        tcfg.port = 0
        return int(ep.transportCreate(_PJ_TYPES[kind], tcfg))


def _transport_config(opts: EndpointOptions, kind: str) -> Any:
    """Every transport binds the SIP address. TCP takes the SIP port number (a free one when
    that is 0), TLS its own port (``tls_port``, 0: any free one)."""
    tcfg = pj.TransportConfig()
    tcfg.port = opts.tls_port if kind == "tls" else opts.sip_port
    tcfg.boundAddress = opts.sip_host
    if opts.public_addr:
        tcfg.publicAddress = opts.public_addr
    if kind == "tls":
        tcfg.tlsConfig.certFile = opts.tls_cert
        tcfg.tlsConfig.privKeyFile = opts.tls_key
        tcfg.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
    return tcfg


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


def _bridge_config(cfg: Any) -> None:
    """Size the conference bridge for the calls and media objects an agent may hold."""
    cfg.medConfig.maxMediaPorts = CONF_PORTS


def audio_clocked() -> bool:
    """Whether a sound device (the null one) clocks the bridge: without one no media flows."""
    return _started.audio != "none"


def bridge_reclaims() -> bool:
    """Whether the agent ticks its clockless bridge itself (agent.bridge): with ``--audio none``,
    unless the leak is kept for a fault test."""
    return not audio_clocked() and not _started.fault_bridge_leak


def audio_mode() -> str:
    """The ``audio`` option in use: null, none or a device name."""
    return _started.audio


def _select_audio(adm: Any, audio: str) -> None:
    """The null device, no device, or the device of that name (for capture and playback)."""
    if audio == "none":
        adm.setNoDev()
        return
    if audio == "null":
        adm.setNullDev()
        return
    names = []
    for index, dev in enumerate(adm.enumDev2()):
        names.append(str(dev.name))
        if dev.name == audio:
            if dev.inputCount:
                adm.setCaptureDev(index)
            if dev.outputCount:
                adm.setPlaybackDev(index)
            return
    raise StartError(f"no sound device {audio!r} in this build (it has "
                     f"{', '.join(repr(n) for n in names) or 'none'}; --audio null uses the "
                     "null device)")


def start(opts: EndpointOptions) -> tuple[Any, list[str]]:
    """A started Endpoint on the polling model (no PJSIP worker threads) and its SIP addresses
    (as advertised: the public address when one is given)."""
    global _started
    _started = opts
    if "tls" in opts.transports:
        check_tls_files(opts.tls_cert, opts.tls_key)
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
    _bridge_config(cfg)
    if not opts.fault_bridge_leak:
        bridge.configure(cfg.medConfig)
    ep.libInit(cfg)
    if not opts.supported_norefersub:
        capabilities.drop_supported("norefersub")
    _transport_ids.clear()
    addrs: list[str] = []
    chosen = 0  # the port the OS gave the first transport when the SIP port is 0
    for kind in opts.transports:
        tcfg = _transport_config(opts, kind)
        if kind == "tcp" and not opts.sip_port and chosen:
            tcfg.port = chosen  # TCP on the SIP port number, as with a port given
        try:
            tid = _create(ep, kind, tcfg, chosen)
        except pj.Error as exc:
            ep.libDestroy()
            raise StartError(f"cannot open SIP {kind.upper()} on {opts.sip_host}:{tcfg.port}: "
                             f"{getattr(exc, 'reason', '') or exc} "
                             f"(status {getattr(exc, 'status', '?')})") from None
        _transport_ids[kind] = tid
        local = ep.transportGetInfo(tid).localName
        addrs.append(f"{kind}:{local}")
        if kind != "tls" and not chosen:
            chosen = int(local.rsplit(":", 1)[1])
    ep.libStart()
    prefer_codecs(ep, opts.codecs)
    try:
        _select_audio(ep.audDevManager(), opts.audio)
    except StartError:
        ep.libDestroy()
        raise
    return ep, addrs


def udp_listener(ep: Any, opts: EndpointOptions) -> tuple[str, int] | None:
    """Where a datagram reaches this agent's own UDP SIP listener (agent.waker): its bound
    address (loopback when it listens on every address) and port. None: no UDP transport."""
    tid = _transport_ids.get("udp")
    if tid is None:
        return None
    port = int(str(ep.transportGetInfo(tid).localName).rsplit(":", 1)[1])
    host = opts.sip_host.strip("[]")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, port


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
    loop variable: that is why this is a function of its own). Media objects go first."""
    media_objects.drop_all(state)
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
