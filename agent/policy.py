"""An account's policy: how it answers the requests that pjsua2 settles inside a callback
(incoming REFER, presence SUBSCRIBE, INVITE with Replaces, a 3xx answer to an outgoing call), set
in advance by the client because callbacks never wait on the network. Built from acc.create /
acc.set_policy arguments (or a replica's settings). Fields left out take a safe default: an
incoming REFER is rejected (603: a stranger whose call was answered must not make the agent dial
anywhere, e.g. a toll number; accepting is a per-account opt-in), a SUBSCRIBE and an INVITE with
Replaces are accepted (pjsua's default), a redirect stops (pjsua2's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pjsua2 as pj

#: what each decision answers when it rejects, unless the policy names another code
DEFAULT_REJECT_CODES = {"transfer": 603, "subscribe": 403, "replaces": 603}
#: each decision when the policy does not say
DEFAULT_DECISIONS = {"transfer": "reject", "subscribe": "accept", "replaces": "accept"}


def policy_of(settings: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for what, code in DEFAULT_REJECT_CODES.items():
        out[what] = settings.get(what) or DEFAULT_DECISIONS[what]
        out[f"{what}_code"] = int(settings.get(f"{what}_code") or code)
    out["redirect"] = settings.get("redirect") or "stop"
    out["ring"] = float(settings.get("ring") or 0.0)
    return out


def decide(policy: Mapping[str, Any], what: str, accept_code: int) -> int:
    """The response the policy gives to a request of kind ``what``."""
    return accept_code if policy[what] == "accept" else int(policy[f"{what}_code"])


def redirect_op(policy: Mapping[str, Any]) -> int:
    """What pjsua does with a 3xx answer (a pjsip_redirect_op): send the call on to the target,
    or end it with the 3xx code."""
    return int(pj.PJSIP_REDIRECT_ACCEPT if policy["redirect"] == "follow"
               else pj.PJSIP_REDIRECT_STOP)
