"""`callfleet scenario check FILE`: read a scenario file (YAML or JSON), check it as the
coordinator will (``proto.scenario``) and print its flow."""

from __future__ import annotations

import argparse
import sys

from coordinator.client.scenarios import BadScenario, read, read_data
from proto import scenario


def cmd_check(args: argparse.Namespace) -> int:
    try:
        columns = tuple(read_data(args.data)[0]) if args.data else ()
        flow = read(args.file, columns)
    except BadScenario as exc:
        print(f"callfleet scenario check: {exc}", file=sys.stderr)
        return 2
    print("\n".join(scenario.describe(flow)))
    if columns:
        print("  data columns: " + ", ".join(f"${{{c}}}" for c in columns))
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("scenario", help="call scenarios: check a scenario file")
    actions = p.add_subparsers(dest="action", required=True)
    check = actions.add_parser("check", help="validate a scenario file and print its flow",
                               allow_abbrev=False)
    check.add_argument("file", help="the scenario (.yaml, .yml or .json)")
    check.add_argument("--data", default="", metavar="CSV", help="the per-call data the "
                       "scenario's variables may come from (callfleet load --data)")
    check.set_defaults(func=cmd_check)
