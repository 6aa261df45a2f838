"""The optional parts of the install: which extra a program needs, and one clear line when it is
missing (instead of an ImportError's traceback)."""

from __future__ import annotations

import importlib.util

#: module -> the extra that installs it
EXTRAS = {"pjsua2": "agent", "supervisor": "deploy", "matplotlib": "report", "jinja2": "report",
          "aiohttp": "web"}


def missing(*modules: str) -> str:
    """"" when every module is installed, else what to install, e.g. ``pip install
    'callfleet[agent]'``."""
    extras = sorted({EXTRAS[m] for m in modules if importlib.util.find_spec(m) is None})
    return f"pip install 'callfleet[{','.join(extras)}]'" if extras else ""
