"""The `callfleet` command: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from coordinator.cli import answer, call, events, front, keys, load, runs, scenario, serve, status, up, web
from proto import logsetup


def cmd_agent(rest: list[str]) -> int:
    """The agent is its own program (it alone imports pjsua2): run it in this process's place."""
    os.execv(sys.executable, [sys.executable, "-m", "agent", *rest])
    return 1  # not reached


class Parser(argparse.ArgumentParser):
    """A usage mistake is one line (what is wrong, and where the help is), exit 2; its
    subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = Parser(prog="callfleet", description="A distributed SIP call "
                                        "agent.", allow_abbrev=False)
    sub = p.add_subparsers(dest="cmd", required=True)
    serve.add_parser(sub)
    keys.add_keys_parser(sub)
    sub.add_parser("agent", help="run one agent (see `callfleet agent --help`)")
    for command in (status, call, answer, up, front, events, load, runs, scenario, web):
        command.add_parser(sub)
    for name, parser in sub.choices.items():
        if name != "agent":  # the agent is its own program, with its own options
            logsetup.add_option(parser)
        # a mistyped option is an error, not the option it abbreviates (--rat is not --rate)
        parser.allow_abbrev = False
        parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "agent":
        return cmd_agent(argv[1:])
    args = build_parser().parse_args(argv)
    logsetup.configure(args.log_level)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
