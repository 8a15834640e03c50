"""Small readers shared by the format modules: gzip-aware lines, JSON, JSONL and TSV with line numbers.

One set of rules for every text input polyret reads (checked by the fuzz tests in
``tests/reliability``):

- a UTF-8 byte order mark at the start of a file is dropped (never kept inside the first id or text);
- ``\\r\\n`` and ``\\n`` both end a line; blank lines of JSONL/TSV files are skipped;
- invalid UTF-8, a truncated or damaged ``.gz`` and malformed JSON are a :class:`DataFormatError`
  naming the file and the line where the problem is;
- field values are never coerced silently: an id is a string (or an integer, written as its digits),
  a text is a string; ``null``, lists, objects, booleans and floats are errors naming the field.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from polyret.data.errors import DataFormatError, DataWarning

BOM = b"\xef\xbb\xbf"
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes, transparently un-gzipping ``*.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def decode_line(raw: bytes, path: Path, lineno: int) -> str:
    """One line's bytes as text, or a DataFormatError naming the file, line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(
            path, lineno, f"invalid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1})"
        ) from None


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text without its line ending)`` for every line (blank ones too)."""
    path = Path(path)
    lineno = 0
    try:
        with open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):  # noqa: B007 - lineno is used in the except
                if lineno == 1 and raw.startswith(BOM):
                    raw = raw[len(BOM):]
                yield lineno, decode_line(raw, path, lineno).rstrip("\r\n")
    except _GZIP_ERRORS as e:
        raise DataFormatError(path, lineno + 1, f"damaged or truncated gzip data: {e}") from None


def read_text(path: str | Path) -> str:
    """A whole text file (BOM dropped, ``.gz`` allowed); invalid UTF-8 names its line."""
    path = Path(path)
    try:
        with open_binary(path) as f:
            data = f.read()
    except _GZIP_ERRORS as e:
        raise DataFormatError(path, None, f"damaged or truncated gzip data: {e}") from None
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise DataFormatError(
            path, line, f"invalid UTF-8 (byte 0x{data[e.start]:02x} at column {column})"
        ) from None


def read_json(path: str | Path) -> Any:
    """Parse one JSON document (``.json`` or ``.json.gz``); an error names the file and line."""
    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise DataFormatError(path, None, "empty file (expected a JSON document)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DataFormatError(path, e.lineno, f"malformed JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        raise DataFormatError(path, None, "malformed JSON: nested too deeply") from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line number, object)`` for each non-blank line; a bad line names file and line."""
    path = Path(path)
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFormatError(path, lineno, f"malformed JSON line: {e.msg} (column {e.colno})") from None
        except RecursionError:
            raise DataFormatError(path, lineno, "malformed JSON line: nested too deeply") from None
        if not isinstance(obj, dict):
            raise DataFormatError(path, lineno, f"expected a JSON object, got {type(obj).__name__}")
        yield lineno, obj


def iter_rows(path: str | Path, sep: str | None = "\t") -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, fields)`` for each non-blank line (``sep=None``: any whitespace)."""
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        yield lineno, (line.split(sep) if sep is not None else line.split())


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def require_str(obj: dict, key: str, path: Path, line: int | None, where: str = "") -> str:
    """``obj[key]`` as a string (an integer gives its digits), else a DataFormatError naming the
    file, line and field. ``null``, booleans, floats, lists and objects are refused."""
    if key not in obj:
        raise DataFormatError(path, line, f"{where}missing field {key!r}")
    value = obj[key]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise DataFormatError(path, line, f"{where}field {key!r} must be a string, got {_type_name(value)}")
    return value


def require_id(obj: dict, key: str, path: Path, line: int | None, where: str = "") -> str:
    """Like :func:`require_str` for an identifier: also refuses an empty id and one holding a tab,
    a newline or another control character (they break TSV, TREC and ``.ids.txt`` files)."""
    value = require_str(obj, key, path, line, where)
    if not value.strip():
        raise DataFormatError(path, line, f"{where}field {key!r} is an empty id")
    if any(c != " " and (c.isspace() or unicodedata.category(c) == "Cc") for c in value):
        raise DataFormatError(path, line, f"{where}id {value!r} in field {key!r} holds a control character")
    return value


def require_text(obj: dict, key: str, path: Path, line: int | None, where: str = "") -> str:
    """``obj[key]`` as a non-blank string (no coercion at all), else a DataFormatError."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        got = repr(value) if isinstance(value, str) else _type_name(value)
        raise DataFormatError(path, line, f"{where}field {key!r} must be a non-empty string, got {got}")
    return value


def optional_str(obj: dict, key: str, path: Path, line: int | None, where: str = "") -> str:
    """``obj[key]`` as a string; a missing field or ``null`` gives ``""``; other types are errors."""
    if obj.get(key) is None:
        return ""
    return require_str(obj, key, path, line, where)


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


class QrelsBuilder:
    """Collects judgements row by row: an identical repeated row is collapsed and counted (one warning
    at the end), a conflicting one is a DataFormatError naming both lines."""

    def __init__(self, path: Path):
        self.path = path
        self.qrels: dict[str, dict[str, int]] = {}
        self.first_line: dict[str, int] = {}  # query -> line of its first row
        self._seen: dict[tuple[str, str], int] = {}
        self.repeated = 0

    def add(self, qid: str, doc_id: str, value: int, line: int) -> None:
        docs = self.qrels.setdefault(qid, {})
        if doc_id in docs:
            if docs[doc_id] != value:
                raise DataFormatError(self.path, line, f"({qid}, {doc_id}) judged twice: {docs[doc_id]} on "
                                      f"line {self._seen[(qid, doc_id)]} and {value} on line {line}")
            self.repeated += 1
            return
        docs[doc_id] = value
        self._seen[(qid, doc_id)] = line
        self.first_line.setdefault(qid, line)

    def result(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        if self.repeated:
            message = f"{self.path}: collapsed {self.repeated} repeated identical qrels rows"
            warnings.warn(message, DataWarning, stacklevel=3)
        return self.qrels, self.first_line
