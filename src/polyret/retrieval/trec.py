"""TREC run files: ``qid Q0 docid rank score tag``, one line per result.

:func:`write_run` checks every id first (no whitespace: it would shift the columns) and writes the
file atomically, so a killed or failing write never leaves a partial run under the final name.
:func:`read_run` reads like every other polyret reader (``polyret.data.io.iter_lines``: BOM dropped,
CRLF, ``.gz``, invalid UTF-8 named by line) and refuses a run that looks cut short: a last line
without its line end is accepted only when it has all six fields and the same tag as the lines
before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from polyret.atomic import atomic_write
from polyret.data.errors import DataFormatError
from polyret.data.io import iter_lines
from polyret.errors import UserError
from polyret.types import Run


class RunFormatError(DataFormatError):
    """A malformed TREC run line (a :class:`UserError`; the message names the file and line)."""


def _check_id(kind: str, value: str) -> None:
    if not value or any(c.isspace() for c in value):
        raise ValueError(f"{kind} id {value!r} cannot be written to a TREC run (empty or whitespace)")


def check_writable(query_ids: Iterable[str], doc_ids: Iterable[str], tag: str = "polyret") -> None:
    """Raise a :class:`UserError` before a search when its run could not be written: a query or doc
    id that is empty or holds whitespace, or a tag that is not one word."""
    if not tag or any(c.isspace() for c in tag):
        raise UserError(f"run tag must be a non-empty word without spaces, not {tag!r}")
    for kind, values in (("query", query_ids), ("doc", doc_ids)):
        for value in values:
            try:
                _check_id(kind, value)
            except ValueError as error:
                raise UserError(f"{error}; rename it in the input first") from None


def ranked(run_row: dict[str, float]) -> list[tuple[str, float]]:
    """One query's results sorted by score descending, then doc id ascending."""
    return sorted(run_row.items(), key=lambda kv: (-kv[1], kv[0]))


def write_run(run: Run, path: str | Path, tag: str = "polyret", exact: bool = False) -> Path:
    """Write ``run`` in TREC format (queries in sorted order, ranks from 1; ``.gz``: gzip). Returns
    the path. Scores have 6 decimals, or with ``exact`` the shortest text that reads back as the same
    float (a kept run re-scored must order ties exactly as the scored run did)."""
    if not tag or any(c.isspace() for c in tag):
        raise ValueError(f"run tag must be a non-empty word, not {tag!r}")
    for qid, row in run.items():
        _check_id("query", qid)
        for doc, score in row.items():
            _check_id("doc", doc)
            if not math.isfinite(score):
                raise ValueError(f"score {score} of query {qid!r}, doc {doc!r} is not finite")
    path = Path(path)
    lines = (f"{qid} Q0 {doc} {rank} {repr(float(score)) if exact else f'{score:.6f}'} {tag}\n"
             for qid in sorted(run) for rank, (doc, score) in enumerate(ranked(run[qid]), start=1))
    if path.suffix == ".gz":
        import gzip

        data = gzip.compress("".join(lines).encode("utf-8"), mtime=0)  # mtime 0: same run, same bytes
        with atomic_write(path, "wb") as f:
            f.write(data)
        return path
    with atomic_write(path, "w") as f:
        f.writelines(lines)
    return path


def _ends_with_line_end(path: Path) -> bool:
    """Whether the last non-blank line of a plain file is followed by a line end.

    A ``.gz`` run counts as ended: gzip's length and CRC trailer (checked on reading) prove the
    stream was written whole.
    """
    if path.suffix == ".gz":
        return True
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - 4096))
        tail = f.read().rstrip(b" \t\r")
    return not tail or tail.endswith(b"\n")


def _parse_line(path: Path, lineno: int, line: str) -> tuple[str, str, float, str]:
    """``(qid, doc, score, tag)`` of one non-blank run line, or a RunFormatError."""
    parts = line.split()
    if len(parts) != 6:
        raise RunFormatError(path, lineno, "expected 6 fields 'qid Q0 docid rank score tag', "
                             f"got {len(parts)}: {line.rstrip()!r}")
    qid, _, doc, rank, score, tag = parts
    try:
        int(rank)
        value = float(score)
    except ValueError:
        raise RunFormatError(path, lineno, "rank must be an integer and score a number: "
                             f"{line.rstrip()!r}") from None
    if not math.isfinite(value):
        raise RunFormatError(path, lineno, f"score is not finite: {score}")
    return qid, doc, value, tag


def read_run(path: str | Path) -> Run:
    """Read a TREC run (plain or ``.gz``; a BOM is dropped, blank lines are skipped).

    Errors (malformed lines, invalid UTF-8, damaged gzip, a run cut short) are a
    :class:`RunFormatError` naming the file and line.
    """
    path = Path(path)
    run: Run = {}
    first_line_of_tag: dict[str, int] = {}
    last: tuple[int, str] | None = None
    try:
        for lineno, line in iter_lines(path):
            if not line.strip():
                continue
            qid, doc, value, tag = _parse_line(path, lineno, line)
            first_line_of_tag.setdefault(tag, lineno)
            last = (lineno, tag)
            row = run.setdefault(qid, {})
            if doc in row:
                raise RunFormatError(path, lineno, f"doc {doc!r} appears twice for query {qid!r}")
            row[doc] = value
    except RunFormatError:
        raise
    except DataFormatError as error:  # invalid UTF-8, damaged gzip: same file and line, run's type
        raise RunFormatError(error.path, error.line, error.message) from None
    if last is not None and len(first_line_of_tag) > 1 and first_line_of_tag[last[1]] == last[0] \
            and not _ends_with_line_end(path):
        others = sorted(t for t in first_line_of_tag if t != last[1])
        raise RunFormatError(path, last[0], f"the last line has no line end and its tag {last[1]!r} differs "
                             f"from the others' ({others[0]!r}): the run looks cut short (a killed write?)")
    return run
