"""``polyret report``: the statistics and the report of an experiment folder.

:func:`write_report` reads an experiment folder (``polyret.experiment.layout``) and writes
``report.md``, one self-contained ``report.html`` and ``plots/*.png`` into it. Modules:
:mod:`.collect` (reading; every result-dict key), :mod:`.stats` (paired tests, pure),
:mod:`.analysis` (the numbers), :mod:`.tables`, :mod:`.plots`, :mod:`.formatting` (tables that fit),
:mod:`.render` (the report's blocks), :mod:`.page` (Markdown and HTML).
"""

from __future__ import annotations

from pathlib import Path

from polyret.report.collect import load_experiment
from polyret.report.render import write


def write_report(root: str | Path) -> tuple[Path, Path]:
    """Write the report of the experiment folder ``root``; returns ``(report.md, report.html)``."""
    return write(load_experiment(root))


__all__ = ["write_report"]
