"""Small readers shared by the format modules: gzip-aware text, JSONL and TSV with line numbers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from polyret.data.errors import DataFormatError


def open_text(path: str | Path) -> IO[str]:
    """Open a text file for reading, transparently un-gzipping ``*.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def read_json(path: str | Path) -> Any:
    """Parse one JSON document (``.json`` or ``.json.gz``); a decode error names file and line."""
    path = Path(path)
    try:
        with open_text(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, e.lineno, f"malformed JSON: {e.msg} (column {e.colno})") from e
    except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
        raise DataFormatError(path, None, f"cannot read file: {e}") from e


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line number, object)`` for each non-blank line; a bad line names file and line."""
    path = Path(path)
    with open_text(path) as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):  # noqa: B007 - lineno is used in the except
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataFormatError(path, lineno, f"malformed JSON line: {e.msg}") from e
                if not isinstance(obj, dict):
                    raise DataFormatError(path, lineno, f"expected a JSON object, got {type(obj).__name__}")
                yield lineno, obj
        except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
            raise DataFormatError(path, lineno + 1, f"cannot read file: {e}") from e


def iter_rows(path: str | Path, sep: str | None = "\t") -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, fields)`` for each non-blank line (``sep=None``: any whitespace)."""
    path = Path(path)
    with open_text(path) as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):  # noqa: B007
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                yield lineno, (line.split(sep) if sep is not None else line.split())
        except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
            raise DataFormatError(path, lineno + 1, f"cannot read file: {e}") from e


def require_str(obj: dict, key: str, path: Path, line: int | None, where: str = "") -> str:
    """``obj[key]`` as a string, or a DataFormatError naming the file, line and field."""
    value = obj.get(key)
    if value is None:
        raise DataFormatError(path, line, f"{where}missing field {key!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataFormatError(
            path, line, f"{where}field {key!r} must be a string, got {type(value).__name__}"
        )
    return value


def parse_int(value: str, path: Path, line: int, what: str) -> int:
    """``int(value)`` (``'1.0'`` allowed), or a DataFormatError naming the file and line."""
    try:
        return int(value)
    except ValueError:
        try:
            f = float(value)
        except ValueError:
            f = None
        if f is not None and f.is_integer():
            return int(f)
        raise DataFormatError(path, line, f"{what} must be an integer, got {value!r}") from None
