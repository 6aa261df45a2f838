"""The pjsua2 AccountConfig of an account replica: id URI, media, outbound proxy, digest
credentials and, on the account's home agent only, registration.

The settings are the ``ACC_SIP`` fields of ``acc.create`` (see proto/ops.py). The password goes
into PJSIP's credential table and nowhere else: never into events, replies or logs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pjsua2 as pj

from agent import endpoint
from proto import ProtoError
from proto.ops import ACC_POLICY, ACC_SIP
from proto.schema import Field, validate

#: registration expiry when acc.create gives none, seconds
DEFAULT_EXPIRES = 300
#: the fields of a replica's settings map (``acc_cfg`` of call.make)
_CFG_FIELDS = (Field("uri", "uri", True), Field("auto_answer", "int", False, lo=100, hi=699),
               *ACC_SIP, *ACC_POLICY)


def check_replica_cfg(cfg: Any, obj: str) -> dict[str, Any]:
    """The ``acc_cfg`` map the coordinator sends with call.make, validated like acc.create."""
    try:
        return validate(_CFG_FIELDS, cfg, "acc_cfg")
    except ProtoError as exc:
        raise ProtoError("E_BAD_ARGS", exc.msg, obj=obj, op="call.make") from None


def loose_route(uri: str) -> str:
    """A proxy URI with the ``;lr`` parameter, which pjsua needs for loose routing."""
    bare = uri.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1]
    params = bare.split(";")[1:]
    return bare if any(p.strip().lower() == "lr" for p in params) else bare + ";lr"


_100REL = {"no": pj.PJSUA_100REL_NOT_USED, "optional": pj.PJSUA_100REL_OPTIONAL,
           "mandatory": pj.PJSUA_100REL_MANDATORY}
_TIMER = {"inactive": pj.PJSUA_SIP_TIMER_INACTIVE, "optional": pj.PJSUA_SIP_TIMER_OPTIONAL,
          "required": pj.PJSUA_SIP_TIMER_REQUIRED, "always": pj.PJSUA_SIP_TIMER_ALWAYS}
_SRTP = {"disabled": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL,
         "mandatory": pj.PJMEDIA_SRTP_MANDATORY}
_KEYING = {"sdes": pj.PJMEDIA_SRTP_KEYING_SDES, "dtls": pj.PJMEDIA_SRTP_KEYING_DTLS_SRTP}


def session_options(cfg: Any, sip: Mapping[str, Any]) -> None:
    """100rel, session timers, SRTP and codec locking (the SESSION fields of acc.create),
    pjsua2's defaults (codec locking only) for what ``sip`` leaves out."""
    call = cfg.callConfig
    call.prackUse = _100REL[sip.get("require_100rel") or "no"]
    call.timerUse = _TIMER[sip.get("use_timer") or "inactive"]
    call.timerSessExpiresSec = int(sip.get("timer_se") or 1800)
    call.timerMinSESec = int(sip.get("timer_min_se") or 90)
    if call.timerSessExpiresSec < call.timerMinSESec:
        raise ProtoError("E_BAD_ARGS", f"timer_se ({call.timerSessExpiresSec}) is below "
                         f"timer_min_se ({call.timerMinSESec})", op="acc.create")
    media = cfg.mediaConfig
    media.lockCodecEnabled = sip.get("lock_codec") is not False
    media.srtpUse = _SRTP[sip.get("use_srtp") or "disabled"]
    media.srtpSecureSignaling = int(sip.get("srtp_secure_signaling") or 0)
    names = str(sip.get("srtp_keying") or "sdes,dtls").split(",")
    if media.srtpUse != pj.PJMEDIA_SRTP_DISABLED and names == ["dtls"]:
        # the pjsua2-python 2.15.1 wheel's pjmedia has no DTLS-SRTP keying at run time: an
        # offer would carry neither a fingerprint nor UDP/TLS/RTP/SAVP (plain RTP, or 488)
        raise ProtoError("E_BAD_ARGS", "DTLS-SRTP is not in this agent's PJSIP build "
                         "(pjsua2-python 2.15.1): use srtp_keying sdes (over TLS)", op="acc.create")
    keyings = pj.IntVector()
    for name in names:
        keyings.append(_KEYING[name])
    media.srtpOpt.keyings = keyings


def build(uri: str, sip: Mapping[str, Any], register: bool, instance: str = "") -> Any:
    """An AccountConfig; ``register`` is False for replicas (only the home agent registers).
    ``instance``: the RFC 5626 instance id to keep (a modified account), else a new one."""
    cfg = pj.AccountConfig()
    cfg.idUri = uri
    endpoint.account_media(cfg)
    if sip.get("transport"):
        tid = endpoint.transport_id(sip["transport"])
        if tid is None:
            raise ProtoError("E_BAD_ARGS", f"this agent does not listen on "
                             f"{sip['transport'].upper()}", op="acc.create")
        cfg.sipConfig.transportId = tid
    # pjproject 2.15.1 has later advisories in ICE, SRTP and the DNS resolver: ICE, TURN and
    # STUN stay off, SRTP too unless the account asks for it (also pjsua2's defaults; set here so
    # that no default can turn them on)
    cfg.natConfig.iceEnabled = False
    cfg.natConfig.turnEnabled = False
    cfg.natConfig.sipStunUse = cfg.natConfig.mediaStunUse = pj.PJSUA_STUN_USE_DISABLED
    session_options(cfg, sip)
    if sip.get("proxy"):
        cfg.sipConfig.proxies.append(loose_route(sip["proxy"]))
    if sip.get("username"):
        cred = pj.AuthCredInfo("digest", sip.get("realm") or "*", sip["username"], 0,
                               sip.get("password") or "")
        cfg.sipConfig.authCreds.append(cred)
    # MWI subscribes from the home agent only (one subscription, however many replicas)
    cfg.mwiConfig.enabled = bool(sip.get("mwi")) and register
    cfg.mwiConfig.expirationSec = int(sip.get("mwi_expires") or 3600)
    if register and sip.get("registrar"):
        cfg.regConfig.registrarUri = sip["registrar"]
        cfg.regConfig.timeoutSec = int(sip.get("expires") or DEFAULT_EXPIRES)
        # pjsua's regc_cb retries a failed registration only after 408, 480, 500, 502, 503, 504
        # and 6xx, never after 401/403 (no retry storm on a wrong password); keep those slow
        cfg.regConfig.retryIntervalSec = 60
        cfg.regConfig.firstRetryIntervalSec = 30
        # pjsua derives the RFC 5626 instance id from the host name: agents of one host would
        # then register one contact in place of another's (an account on every agent)
        cfg.natConfig.sipOutboundInstanceId = instance or f"<urn:uuid:{uuid.uuid4()}>"
    else:
        cfg.regConfig.registerOnAdd = False
    return cfg
