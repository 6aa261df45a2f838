"""`callfleet scenario check FILE`: read a scenario file (YAML or JSON), check it as the
coordinator will (``proto.scenario``) and print its flow."""

from __future__ import annotations

import argparse
import sys

from coordinator.client.scenarios import BadScenario, read
from proto import scenario


def cmd_check(args: argparse.Namespace) -> int:
    try:
        flow = read(args.file)
    except BadScenario as exc:
        print(f"callfleet scenario check: {exc}", file=sys.stderr)
        return 2
    print("\n".join(scenario.describe(flow)))
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scenario", help="call scenarios: check a scenario file")
    actions = p.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate a scenario file and print its flow",
                               allow_abbrev=False)
    check.add_argument("file", help="the scenario (.yaml, .yml or .json)")
    check.set_defaults(func=cmd_check)
