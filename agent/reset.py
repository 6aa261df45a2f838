"""An agent told to reset drops everything it holds.

The coordinator declared the agent lost (it was stopped, or cut off, for longer than the
liveness limit) or restarted: either way it forgot this agent's calls and accounts, ended the
calls for their owners (``worker_lost``) and moved the accounts elsewhere. So when the agent
comes back (or says in its hello that it holds objects), its hello is answered with ``reset``:
it destroys its media objects, hangs up every call, ends its load runs and deletes every account
(each once its calls are gone, as pjsua requires), then says hello again holding nothing. The
coordinator drops its events meanwhile.
"""

from __future__ import annotations

import pjsua2 as pj

from agent import media_objects
from agent.state import AgentState


def begin(state: AgentState) -> None:
    media_objects.drop_all(state)
    for gen in state.loads.values():
        gen.end()
    prm = pj.CallOpParam(True)
    for call in list(state.calls.values()):
        if call.ended:
            continue
        try:
            call.hangup(prm)
        except pj.Error:
            pass  # already disconnecting: its DISCONNECTED callback drops it
    for acc in state.accounts.values():
        acc.deleting = True
    state.reap()


def done(state: AgentState) -> bool:
    """Nothing is left: the agent may say hello again."""
    return not state.calls and not state.accounts and not state.loads and not state.media
