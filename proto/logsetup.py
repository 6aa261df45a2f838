"""How every callfleet process logs: the standard ``logging`` module, one format (``name:
message`` on stderr, where supervisord and terminals take it), one ``--log-level`` option. In
``proto`` because it is the one package both sides share; it carries no wire format."""

from __future__ import annotations

import argparse
import logging
import sys

LEVELS = ("debug", "info", "warning", "error")
FORMAT = "%(name)s: %(message)s"


def add_option(p: argparse.ArgumentParser, default: str = "info") -> None:
    p.add_argument("--log-level", choices=LEVELS, default=default,
                   help=f"what this process logs on stderr (default {default})")


def configure(level: str) -> None:
    """Log ``level`` and above to stderr, one line each."""
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=sys.stderr, force=True)
