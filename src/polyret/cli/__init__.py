"""The ``polyret`` command line: a thin layer over the library.

Each subcommand lives in its own module ``polyret.cli.<name>`` that defines
``register(subparsers)``; the module's handler is set with ``set_defaults(func=...)``
and returns an exit code. Logging is configured here only.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys

# Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("data", "embed", "search", "sample", "train", "evaluate", "compare", "subsets")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="polyret",
        description=(
            "Train and evaluate multilingual dense retrievers. "
            "Hybrid batch training (mono + cross-lingual batches), LAReQA / BEIR / MIRACL "
            "evaluation, all offline from local files."
        ),
        epilog="Run 'polyret COMMAND --help' for the options of a command.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if importlib.util.find_spec(f"polyret.cli.{name}") is None:
            continue  # a command whose module is not installed in this build
        module = importlib.import_module(f"polyret.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        # the level on the handler too: some libraries (bm25s) set their own logger to DEBUG
        handler.setLevel(level)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)
