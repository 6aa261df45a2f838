"""The part of a load run that a replacement agent takes (pure): the lost agent's share, with
what is left of its calls (or of the run's time), its identities at the replacement's address
(a registrar run's identities are the same: they register again), no ramp, no wait."""

from __future__ import annotations

import copy
from typing import Any

from coordinator.server.load.run import LoadRun


def _moved(ids: list[dict[str, Any]], old: str, new: str) -> list[dict[str, Any]]:
    return [{**i, "uri": str(i["uri"]).replace(f"@{old}", f"@{new}")} for i in ids]


def rejoin_share(run: LoadRun, name: str, hostport: str, now: float) -> dict[str, Any] | None:
    """The load.agent_start arguments of ``name``'s replacement at ``hostport`` (None: nothing
    is left for it to do)."""
    share = copy.deepcopy(run.shares.get(name) or {})
    if ("answer" not in share and "caller" not in share) or (
            "caller" in share and "ids" not in share["caller"]):
        return None  # an adopted run's part: not known in full
    old = run.hostports.get(name, "")
    registrar = bool(run.profile.registrar)
    if "answer" in share and old and not registrar:
        share["answer"]["ids"] = _moved(share["answer"]["ids"], old, hostport)
    caller = share.get("caller")
    if caller is not None:
        if old and not registrar:
            caller["ids"] = _moved(caller["ids"], old, hostport)
        left = _left(run, name, caller, now)
        if left is None:
            del share["caller"]
        else:
            caller.update(left, ramp=0.0, phase=0.0, wait_go=False)
    if "caller" not in share and "answer" not in share:
        return None
    return share


def _left(run: LoadRun, name: str, caller: dict[str, Any], now: float) -> dict[str, Any] | None:
    """What is left of a calling part: its calls, or the run's time (None: nothing)."""
    if int(caller.get("calls") or 0):
        calls = int(caller["calls"]) - (run.by_agent[name]["started"] if name in run.by_agent else 0)
        return {"calls": calls} if calls > 0 else None
    duration = float(caller.get("duration") or 0.0) - (now - run.released_at)
    return {"duration": round(duration, 3)} if duration > 0.5 else None
