"""Progress output that suits where it goes: tqdm's bars on a terminal, plain lines elsewhere.

A log file or a CI console has no cursor: tqdm's carriage returns and the cursor moves of nested
bars (``position=``) turn into escape-code soup there. :func:`plain_lines_unless_tty` (used by the
command line) makes every ``tqdm.auto.tqdm`` created meanwhile write one ordinary line about every
:data:`LINE_INTERVAL_S` seconds (and a last one when it closes) when the stream is not a terminal.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import IO

LINE_INTERVAL_S = 30.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed} elapsed, {remaining} left, {rate_fmt}{postfix}]"


def line_progress_class():
    """A tqdm subclass that writes each update as one plain line (no ``\\r``, no cursor movement)."""
    from tqdm import tqdm

    class LineProgress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["mininterval"] = max(float(kwargs.get("mininterval") or 0.0), LINE_INTERVAL_S)
            kwargs.update(position=0, dynamic_ncols=False, bar_format=PLAIN_FORMAT)
            if kwargs.get("disable") is None:  # tqdm's "only on a terminal": here, plain lines instead
                kwargs["disable"] = False
            super().__init__(*args, **kwargs)

        def display(self, msg=None, pos=None):
            if msg == "":  # tqdm clearing a finished bar: nothing to take back on a plain stream
                return True
            line = (msg if msg is not None else self.__str__()).replace("\r", "").strip()
            if line:
                self.fp.write(line + "\n")
                self.fp.flush()
            return True

        def close(self):
            if self.disable:
                return
            if self.leave and self.last_print_n != self.n:
                self.display()  # the final count, once
            self.disable = True  # tqdm's own close would write "\r" and move the cursor
            with contextlib.suppress(Exception):
                self._decr_instances(self)

    return LineProgress


@contextlib.contextmanager
def plain_lines_unless_tty(stream: IO[str] | None = None) -> Iterator[bool]:
    """While inside, ``tqdm.auto.tqdm`` writes plain lines when ``stream`` (stderr) is not a terminal;
    yields whether it does."""
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        yield False
        return
    import tqdm.auto

    original = tqdm.auto.tqdm
    tqdm.auto.tqdm = line_progress_class()
    try:
        yield True
    finally:
        tqdm.auto.tqdm = original
