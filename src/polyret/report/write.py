"""``write_report(root)``: read an experiment folder and write its report (md, html, plots)."""

from __future__ import annotations

from pathlib import Path

from polyret.report.collect import load_experiment
from polyret.report.render import write


def write_report(root: str | Path) -> tuple[Path, Path]:
    """Write the report of the experiment folder ``root``; returns ``(report.md, report.html)``."""
    return write(load_experiment(root))
