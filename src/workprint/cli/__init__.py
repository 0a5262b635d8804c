"""The ``workprint`` command line (contract: DESIGN.md, section Command line).

One module per group of commands; each keeps its arguments next to its handler and
registers them in ``add_commands``. To add a group, write a module and list it in GROUPS.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from workprint import __version__
from workprint.cli.common import HelpFormatter
from workprint.errors import WorkprintError

GROUPS = ["recording", "consent", "agent", "sessions", "collector", "annotate", "evals"]

EPILOG = """\
examples:
  workprint consent show --policy policy.toml    what would be recorded, where it goes, who reads it
  workprint consent accept --policy policy.toml  agree (recording needs it); `consent withdraw --erase` undoes it
  workprint record --policy policy.toml      record until Ctrl-C (or SIGTERM)
  workprint record --duration 60             record for one minute
  workprint pause / workprint resume         stop and restart recording at any moment (or ctrl+alt+p)
  workprint sessions                         list recorded sessions
  workprint actions latest                   what you did, one action per line
  workprint export latest --format hf --out ds   a dataset `datasets.load_dataset("parquet", ...)` reads
  workprint report latest --out replay.html     step through a session in the browser
  workprint eval build latest --out evalset     an eval set; then `eval run evalset --model URL --out results`
  workprint agent run --task "Write a note" --model http://127.0.0.1:8000/v1   an agent works; your input takes over
  workprint enrol URL CODE                   join a collector; then `consent accept`, `review`, `upload`
  echo 'mail bob@example.com' | workprint redact

Data lives in $WORKPRINT_HOME (default: the platform's user data dir), encrypted.
"""



class Parser(argparse.ArgumentParser):
    """argparse's parser, whose mistakes (a missing --model, an unknown --format) also say where
    the command's options are explained. Subcommands inherit it."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n"
                     f"`{self.prog} --help` explains {'the commands' if self.prog == 'workprint' else 'its options'}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="workprint",
        description="Record how you use your computer, with consent, only in allowed apps, "
                    "with secrets removed on this machine; turn recordings into agent training data.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"workprint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for group in GROUPS:
        importlib.import_module(f"workprint.cli.{group}").add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except WorkprintError as exc:  # every error workprint raises on purpose says what to do
        print(f"workprint: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
