"""TREC run files: ``qid Q0 docid rank score tag``, one line per result."""

from __future__ import annotations

import math
from pathlib import Path

from polyret.types import Run


class RunFormatError(ValueError):
    """A malformed TREC run line (the message names the file and line)."""


def ranked(run_row: dict[str, float]) -> list[tuple[str, float]]:
    """One query's results sorted by score descending, then doc id ascending."""
    return sorted(run_row.items(), key=lambda kv: (-kv[1], kv[0]))


def write_run(run: Run, path: str | Path, tag: str = "polyret") -> Path:
    """Write ``run`` in TREC format (queries in sorted order, ranks from 1). Returns the path."""
    if not tag or any(c.isspace() for c in tag):
        raise ValueError(f"run tag must be a non-empty word, not {tag!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for qid in sorted(run):
            if not qid or any(c.isspace() for c in qid):
                raise ValueError(f"query id {qid!r} cannot be written to a TREC run (whitespace)")
            for rank, (doc, score) in enumerate(ranked(run[qid]), start=1):
                if not doc or any(c.isspace() for c in doc):
                    raise ValueError(f"doc id {doc!r} cannot be written to a TREC run (whitespace)")
                f.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")
    return path


def read_run(path: str | Path) -> Run:
    """Read a TREC run; blank lines are skipped; errors name the file and line number."""
    path = Path(path)
    run: Run = {}
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise RunFormatError(f"{path}:{lineno}: not valid UTF-8 ({err.reason})") from None
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 6:
                raise RunFormatError(f"{path}:{lineno}: expected 6 fields 'qid Q0 docid rank score "
                                     f"tag', got {len(parts)}: {line.rstrip()!r}")
            qid, _, doc, rank, score, _ = parts
            try:
                int(rank)
                value = float(score)
            except ValueError:
                raise RunFormatError(f"{path}:{lineno}: rank must be an integer and score a number: "
                                     f"{line.rstrip()!r}") from None
            if not math.isfinite(value):
                raise RunFormatError(f"{path}:{lineno}: score is not finite: {score}")
            row = run.setdefault(qid, {})
            if doc in row:
                raise RunFormatError(f"{path}:{lineno}: doc {doc!r} appears twice for query {qid!r}")
            row[doc] = value
    return run
