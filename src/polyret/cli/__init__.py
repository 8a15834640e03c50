"""The ``polyret`` command line: a thin layer over the library.

Each subcommand lives in its own module ``polyret.cli.<name>`` that defines
``register(subparsers)``; the module's handler is set with ``set_defaults(func=...)``
and returns an exit code. Logging is configured here only.

:func:`main` is the one error boundary: a :class:`~polyret.errors.UserError` (data format, config,
non-finite values), a ``ValueError`` or a missing user file prints ``polyret: error: <message>``
(one line naming the file and line where known) and exits 2; a full disk prints the file and exits 1;
Ctrl-C exits 130; anything else is a bug and keeps its traceback (exit 1). ``-v`` shows the
traceback of every error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import importlib.util
import logging
import sys
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator

from polyret.errors import UserError
from polyret.progress import plain_lines_unless_tty

# Subcommand modules, in the order ``--help`` lists them.
COMMANDS = (
    "data",
    "embed",
    "search",
    "mine",
    "sample",
    "train",
    "evaluate",
    "score",
    "compare",
    "subsets",
    "experiment",
    "report",
)


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
    """Run one command; the one error boundary of the CLI (see :func:`error_kind`)."""
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
    try:
        with plain_lines_unless_tty(sys.stderr), summarised_warnings(args.verbose):
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        sys.stderr.write("polyret: interrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `polyret data list | head`
        with contextlib.suppress(OSError):
            sys.stderr.close()
        return 141
    except Exception as error:  # noqa: BLE001 - the boundary: classify, print, exit
        return _report(error, args.verbose)


# Warnings a user cannot act on at the command line (the setting is deliberate and recorded in the
# result / model card): one summary line at the end instead of one per occurrence; -v shows each.
SUMMARISED = {
    "MaxLengthWarning": "sentence-transformers keeps one max_seq_length (the larger of the query and "
                        "passage lengths); the model card and polyret.json record both",
    "TruncationWarning": "texts longer than the configured token lengths were truncated, as set; each "
                         "result records how many",
}


@contextlib.contextmanager
def summarised_warnings(verbose: int = 0) -> Iterator[Counter]:
    """Show warnings as one line each (``polyret: warning: ...``, no echoed source line) and the
    :data:`SUMMARISED` kinds as one line per kind at the end; unchanged with ``-v``."""
    counts: Counter = Counter()
    if verbose:
        yield counts
        return
    original = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if category.__name__ in SUMMARISED:
            counts[category.__name__] += 1
            return
        sys.stderr.write(f"polyret: warning: {str(message).strip()} ({category.__name__})\n")

    warnings.showwarning = show  # the filters stay as they are: this only changes how a warning shows
    try:
        yield counts
    finally:
        warnings.showwarning = original
        for name, n in counts.items():
            sys.stderr.write(f"polyret: note: {SUMMARISED[name]} ({n} warning(s); -v shows them)\n")


def error_kind(error: BaseException) -> str:
    """``"user"`` (exit 2: input a user can fix), ``"environment"`` (exit 1: disk full, network)
    or ``"bug"`` (exit 1 with a traceback)."""
    from polyret.data.errors import DownloadError

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "environment"
    if isinstance(error, DownloadError):
        return "environment"
    if isinstance(error, UserError | ValueError | FileNotFoundError | NotADirectoryError
                  | IsADirectoryError | PermissionError | FileExistsError):
        return "user"
    return "bug"


def error_message(error: BaseException) -> str:
    """One line (a multi-line message keeps its lines, indented) naming the file where known."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        where = error.filename or "an output file"  # polyret.atomic names the final file
        return f"no space left on the device while writing {where}"
    if isinstance(error, KeyError) and error.args:
        text = str(error.args[0])
    elif isinstance(error, OSError) and error.filename and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return text.strip().replace("\n", "\n  ")


def _report(error: Exception, verbose: int) -> int:
    kind = error_kind(error)
    if kind == "bug" or verbose:
        traceback.print_exception(error, file=sys.stderr)
    if kind == "bug":
        sys.stderr.write(f"polyret: internal error ({type(error).__name__}); please report it with the "
                         "traceback above\n")
        return 1
    sys.stderr.write(f"polyret: error: {error_message(error)}\n")
    if not verbose and kind == "user" and type(error) is ValueError:
        sys.stderr.write("(run with -v for the traceback)\n")
    return 2 if kind == "user" else 1
