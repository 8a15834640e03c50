"""Outcome records for ``docs/reliability.md``: each fault / bad-input case says what happened.

Tests call :func:`record` (or use :func:`classify`); when ``POLYRET_RELIABILITY_RECORD`` names a file,
the session's counts are written there as JSON at the end (``conftest.py``), and
``scripts/reliability_table.py`` renders them. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

ENV = "POLYRET_RELIABILITY_RECORD"

CLEAR_ERROR = "clear error"  # a UserError / DataFormatError naming the file (and line)
DOCUMENTED_SKIP = "documented skip"  # accepted, with a counted warning
VALID = "read, counts checked"  # valid input: the counts equal an independent expectation
RESUMED = "resumed identical"  # killed / disk full, then rerun: same result, no partial file kept
RECOMPUTED = "set aside, recomputed"  # a damaged file polyret can recompute: moved aside / redone
CRASH = "crash with traceback"  # another exception from deep inside: must be 0
WRONG = "silently wrong"  # accepted with a count that differs from the expectation: must be 0
UNCLEAR = "error without file/line"  # a user error that does not say where: must be 0
BAD_OUTCOMES = (CRASH, WRONG, UNCLEAR)

_COUNTS: Counter[tuple[str, str, str]] = Counter()  # (group, case class, outcome) -> cases


def record(group: str, case: str, outcome: str, n: int = 1) -> None:
    """Count ``n`` cases of ``case`` (e.g. ``"beir corpus.jsonl: truncated"``) ending in ``outcome``."""
    _COUNTS[(group, case, outcome)] += n


def counts() -> dict[tuple[str, str, str], int]:
    return dict(_COUNTS)


def dump(path: str | Path) -> None:
    """Write the counts as JSON (merged with a file left by an earlier process of the same run)."""
    path = Path(path)
    merged: Counter[tuple[str, str, str]] = Counter()
    if path.is_file():
        for row in json.loads(path.read_text(encoding="utf-8")):
            merged[(row["group"], row["case"], row["outcome"])] += row["n"]
    merged.update(_COUNTS)
    rows = [{"group": g, "case": c, "outcome": o, "n": n} for (g, c, o), n in sorted(merged.items())]
    from polyret.atomic import write_json

    write_json(path, rows)


def enabled() -> str | None:
    return os.environ.get(ENV) or None
