"""The supervisord event listener's side of the protocol, on in-memory streams."""

from __future__ import annotations

import io

from coordinator.cli.fatal_listener import serve


def _event(name: str, payload: str) -> str:
    return (f"ver:3.0 server:supervisor serial:21 pool:fatal poolserial:10 eventname:{name} "
            f"len:{len(payload)}\n") + payload


def test_reports_fatal_events_and_answers_every_event() -> None:
    stdin = io.StringIO(_event("PROCESS_STATE_FATAL", "processname:hostb-02 groupname:agent "
                              "from_state:BACKOFF")
                       + _event("TICK_5", "when:1234")
                       + _event("PROCESS_STATE_FATAL", "processname:hostb-03 groupname:agent "
                                "from_state:BACKOFF"))
    stdout = io.StringIO()
    seen: list[dict[str, str]] = []
    logs: list[str] = []

    def report(fields: dict[str, str]) -> str:
        seen.append(fields)
        if fields["processname"] == "hostb-03":
            raise OSError("coordinator unreachable")
        return "reported"

    assert serve(stdin, stdout, report, logs.append) == 3
    assert [(f["processname"], f["groupname"], f["from_state"]) for f in seen] == [
        ("hostb-02", "agent", "BACKOFF"), ("hostb-03", "agent", "BACKOFF")]
    assert logs[0] == "reported" and "hostb-03" in logs[1] and "unreachable" in logs[1]
    # READY before each event, RESULT after each, READY again when stdin ends
    assert stdout.getvalue() == "READY\nRESULT 2\nOK" * 3 + "READY\n"
