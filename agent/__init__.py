"""The callfleet agent: one process, one pjsua2 Endpoint, one loop. Imports ``proto`` only."""


def exit_without_pjsua2() -> None:
    """Before anything imports pjsua2 (``python -m agent``, the fork server): exit with status 2
    and one line saying what to install, when it is not installed."""
    import sys

    from proto.extras import missing

    if need := missing("pjsua2"):
        print(f"callfleet agent: an agent runs pjsua2, which is not installed: {need}",
              file=sys.stderr)
        raise SystemExit(2)
