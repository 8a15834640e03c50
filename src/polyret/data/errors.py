"""Errors and warnings of the dataset layer: every message names the file (and line)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from polyret.errors import UserError


class DataFormatError(UserError, ValueError):
    """A data file that cannot be read as its format says: names the file and the line.

    ``line`` is the 1-based line of a JSONL/TSV/TREC file, or of the JSON decoder's error;
    ``None`` for a structural problem inside a JSON document, whose location (e.g.
    ``data[3].paragraphs[1]``) is then part of ``message``.
    """

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path = Path(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class DatasetNotFound(UserError, FileNotFoundError):
    """A named dataset (or a file of it) is in none of the searched places."""

    def __init__(self, name: str, searched: Sequence[Path], hint: str = ""):
        self.name = name
        self.searched = [Path(p) for p in searched]
        lines = [f"dataset {name!r} not found; looked in:"]
        lines += [f"  - {p}" for p in self.searched]
        lines.append(
            hint
            or f"Get it with 'polyret data download {name}' (needs a network), or point "
            "--data-dir / $POLYRET_DATA_DIR at a folder that holds it."
        )
        super().__init__("\n".join(lines))


class UnknownDataset(UserError, KeyError):
    """A dataset name that is not in the catalog; the message lists the known names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DownloadError(RuntimeError):
    """A download failed (no network, HTTP error, checksum mismatch, bad archive)."""


class DataWarning(UserWarning):
    """Input that is skipped by convention (e.g. BEIR qrels for documents missing from the corpus)
    or tolerated quirks (e.g. XQuAD-R ``tr.json`` shifted sentence breaks); the message has a count."""
