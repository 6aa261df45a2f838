"""The page's "start a run" form, read as ``callfleet load`` reads its options: the form's fields
become that command's options, parsed by its own parser and checked by its own checks
(``coordinator.cli.loadopts``), so a run started from the page is the run the command line would
start, with the same criteria.

Only the options of the run itself are taken: none that reads or writes a file on the
dashboard's host (``--credentials``, ``--report``, ...) or picks a fleet."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from coordinator.cli import loadopts
from coordinator.cli.verdict import Criteria

#: form field -> the option of `callfleet load` it gives
FIELDS = {"rate": "--rate", "ramp": "--ramp", "calls": "--calls", "duration": "--duration",
          "max_concurrent": "--max-concurrent", "hold": "--hold", "targets": "--target",
          "answer_delay": "--answer-delay", "answer_code": "--answer-code", "hangup": "--hangup",
          "dtmf": "--dtmf", "dtmf_method": "--dtmf-method", "callers": "--callers",
          "media": "--media", "max_failed_pct": "--max-failed-pct",
          "min_rate_pct": "--min-rate-pct", "max_setup_p95": "--max-setup-p95",
          "min_mos": "--min-mos"}


class FormError(ValueError):
    """A field the run cannot use: one line for the page."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise FormError(message)


_PARSER = _Parser(prog="start a run", add_help=False)
loadopts.add_options(_PARSER)


def argv_of(form: dict[str, Any]) -> list[str]:
    """The command line the form stands for."""
    argv: list[str] = []
    for name, value in form.items():
        if name not in FIELDS:
            raise FormError(f"unknown field {name!r}")
        values = value if isinstance(value, list) else str(value).split() \
            if name == "targets" else [value]
        for v in values:
            text = str(v).strip()
            if text:
                argv += [FIELDS[name], text]
    return argv


def read(form: dict[str, Any]) -> tuple[dict[str, Any], Criteria]:
    """The run's profile (load.start's arguments) and its criteria; FormError says what is
    wrong, as ``callfleet load`` would."""
    args = _PARSER.parse_args(argv_of(form))
    try:
        profile = loadopts.check(args)
    except loadopts.Unusable as exc:
        raise FormError(str(exc)) from None
    return profile, loadopts.criteria_of(args)
