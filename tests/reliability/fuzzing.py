"""The harness of the reader fuzz tests: line-based files, their mutations and an independent oracle.

A case is a list of generated records (unique keys), written one per line by a format, then one
mutation. The oracle knows, from the mutation alone, what a correct reader must do: read exactly the
expected number of records, or stop with a clear error naming the file and the expected line.
:func:`run_case` compares the reader against it and records the outcome (``recorder``).
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import recorder
from hypothesis import strategies as st

from polyret.data.errors import DataWarning
from polyret.errors import UserError

BOM = b"\xef\xbb\xbf"
# ids: letters, digits and a little punctuation (no whitespace: TREC files split on it)
ID_ALPHABET = st.characters(categories=["L", "N"], include_characters="-_.:/#", exclude_characters="\x00")
ids = st.text(ID_ALPHABET, min_size=1, max_size=8)
texts = st.text(max_size=24)  # any Unicode but surrogates (JSON escapes the control characters)
tsv_texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\t\n\r"), max_size=24)
WRONG_VALUES = (None, [1, "a"], {"k": "v"}, 1.5, True, False)


@dataclass(frozen=True)
class Expect:
    """What a correct reader does with one case: read exactly ``keys``, or an error on ``line``."""

    keys: frozenset | None = None  # the record keys read (None: an error is expected)
    line: int | None = None  # the line the error must name (None: any or none; -1: some line)
    counts_ok: tuple[int, ...] = ()  # acceptable numbers of records instead (a TSV row cut in its last field)
    skip: bool = False  # valid, but with a counted DataWarning (collapsed identical rows)
    mention: str = ""  # text the error must also hold (e.g. the line of the first of two rows)


@dataclass
class LineFormat:
    """A line-based input: how a record becomes a line, and the reader under test."""

    name: str  # e.g. "BEIR corpus.jsonl"
    filename: str
    to_line: Callable[[dict], str]
    read: Callable[[Path], object]  # read the file, return the keys of the records read (a collection)
    records: st.SearchStrategy  # one record (dict)
    key: Callable[[dict], object]  # uniqueness key
    jsonl: bool = True
    header: str | None = None
    required: tuple[str, ...] = ()  # JSONL fields that must be present and strings
    optional: tuple[str, ...] = ()  # JSONL fields that may be missing or null
    duplicate: str = "error"  # identical repeated record: "error", "collapse" (warned) or "set" (no-op)
    conflict: Callable[[dict], dict] | None = None  # same key, other value (-> error naming both)
    bad_columns: Callable[[str], str] | None = None  # TSV: break the column count of a line
    bad_number: Callable[[str], str] | None = None  # TSV: a non-number where a number belongs
    error_types: tuple[type[BaseException], ...] = (UserError,)
    extra: dict = field(default_factory=dict)


MUTATIONS_LINES = ("valid", "bom", "crlf", "blank_lines", "gzip", "empty", "truncate", "gzip_truncate",
                   "invalid_utf8", "duplicate", "conflict", "wrong_type", "missing_field", "not_object",
                   "bad_columns", "bad_number")


def applicable(fmt: LineFormat) -> list[str]:
    out = ["valid", "bom", "crlf", "blank_lines", "gzip", "empty", "truncate", "gzip_truncate",
           "invalid_utf8", "duplicate"]
    if fmt.conflict:
        out.append("conflict")
    if fmt.jsonl:
        out += ["wrong_type", "missing_field", "not_object"]
    if fmt.bad_columns:
        out.append("bad_columns")
    if fmt.bad_number:
        out.append("bad_number")
    return out


@st.composite
def line_cases(draw, fmt: LineFormat, mutation: str):
    """(mutation, file bytes, gzip?, Expect) for one generated case of ``fmt``."""
    needs_one = mutation not in ("valid", "bom", "crlf", "blank_lines", "gzip", "empty")
    records = draw(st.lists(fmt.records, min_size=int(needs_one), max_size=8, unique_by=fmt.key))
    lines: list[str] = [fmt.to_line(r) for r in records]
    first = 1 if fmt.header is None else 2  # the line number of the first record
    head = [fmt.header] if fmt.header is not None else []
    n = len(records)
    keys = [fmt.key(r) for r in records]
    sep, prefix, gz = "\n", b"", False
    expect = Expect(keys=frozenset(keys))
    if mutation == "bom":
        prefix = BOM
    elif mutation == "crlf":
        sep = "\r\n"
    elif mutation == "blank_lines":
        for _ in range(draw(st.integers(1, 3))):
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", " ", "\t", "  \r"])))
    elif mutation in ("gzip", "gzip_truncate"):
        gz = True
    elif mutation == "empty":
        return mutation, b"", False, Expect(keys=frozenset())
    elif mutation == "duplicate" and n:
        i = draw(st.integers(0, n - 1))
        lines.append(lines[i])
        if fmt.duplicate == "error":
            expect = Expect(line=first + n)
        else:  # "collapse": with a counted warning; "set": the file is a set, a repeat changes nothing
            expect = Expect(keys=frozenset(keys), skip=fmt.duplicate == "collapse")
    elif mutation == "conflict" and n:
        i = draw(st.integers(0, n - 1))
        lines.append(fmt.to_line(fmt.conflict(records[i])))
        expect = Expect(line=first + n, mention=f"line {first + i}")
    elif mutation in ("wrong_type", "missing_field", "not_object", "bad_columns", "bad_number") and n:
        j = draw(st.integers(0, n - 1))
        lines[j], valid = _break_line(draw, fmt, mutation, records[j], lines[j])
        expect = Expect(keys=frozenset(keys)) if valid else Expect(line=first + j)
    data = prefix + sep.join(head + lines).encode("utf-8") + (sep.encode() if head + lines else b"")
    if mutation == "invalid_utf8" and n:
        j = draw(st.integers(0, n - 1))
        data, expect = _inject_invalid(draw, data, len(head) + j, sep), Expect(line=first + j)
    elif mutation == "truncate" and data:
        cut = draw(st.integers(0, len(data) - 1))
        data, expect = data[:cut], _truncation_expectation(fmt, data, cut, first, keys)
    if gz:
        data = gzip.compress(data, mtime=0)
        if mutation == "gzip_truncate":
            cut = draw(st.integers(1, len(data) - 1))
            data, expect = data[:cut], Expect(line=None)  # damaged: an error (or the whole of nothing)
    return mutation, data, gz, expect


def _break_line(draw, fmt: LineFormat, mutation: str, record: dict, line: str) -> tuple[str, bool]:
    """A broken version of one line, and whether a correct reader still accepts it."""
    import json

    if mutation == "wrong_type":
        key = draw(st.sampled_from(fmt.required + fmt.optional))
        value = draw(st.sampled_from(WRONG_VALUES))
        broken = {**record, key: value}
        valid = key in fmt.optional and value is None
        return json.dumps(broken, ensure_ascii=False), valid
    if mutation == "missing_field":
        key = draw(st.sampled_from(fmt.required + fmt.optional))
        broken = {k: v for k, v in record.items() if k != key}
        return json.dumps(broken, ensure_ascii=False), key in fmt.optional
    if mutation == "not_object":
        return draw(st.sampled_from(["[1, 2]", "3", '"text"', "null", "true"])), False
    if mutation == "bad_columns":
        return fmt.bad_columns(line), False
    return fmt.bad_number(line), False


def _inject_invalid(draw, data: bytes, index: int, sep: str) -> bytes:
    """Insert a byte that is never valid UTF-8 into line ``index`` (0-based, header included)."""
    raw_lines = data.split(sep.encode())
    line = raw_lines[index]
    at = draw(st.integers(0, len(line)))
    raw_lines[index] = line[:at] + draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80"])) + line[at:]
    return sep.encode().join(raw_lines)


def _truncation_expectation(fmt: LineFormat, data: bytes, cut: int, first: int, keys: list) -> Expect:
    """Cut after ``cut`` bytes: complete lines are read; a partial last line is an error on its line
    (JSONL: a proper prefix of an object is never valid JSON; TSV: it may still parse)."""
    kept = data[:cut]
    complete = kept.count(b"\n")
    partial = kept[kept.rfind(b"\n") + 1:]
    full_line = data.split(b"\n")[complete]
    if partial == full_line or partial == full_line.rstrip(b"\r"):  # only the line ending was cut
        complete, partial = complete + 1, b""
    records_complete = max(0, complete - (first - 1))
    if not partial.strip(b"\r"):
        return Expect(keys=frozenset(keys[:records_complete]))
    partial_line = complete + 1
    if partial_line < first:  # inside the header: an error on line 1, or a header-only file
        return Expect(line=1, counts_ok=(0,))
    return Expect(line=partial_line, counts_ok=() if fmt.jsonl else (records_complete + 1,))


def run_case(fmt: LineFormat, folder: Path, mutation: str, data: bytes, gz: bool, expect: Expect) -> None:
    """Write the case, read it, compare with ``expect``; record the outcome; fail on a bad one."""
    path = folder / (fmt.filename + (".gz" if gz else ""))
    for stale in folder.iterdir():
        stale.unlink()
    path.write_bytes(data)
    case = f"{fmt.name}: {mutation.replace('_', ' ')}"
    outcome, detail = judge(fmt.read, path, expect, fmt.error_types)
    recorder.record(fmt.name, case, outcome)
    assert outcome not in recorder.BAD_OUTCOMES, f"{case}: {outcome}: {detail}\nexpected {expect}"


def judge(read: Callable[[Path], object], path: Path, expect: Expect,
          error_types: tuple[type[BaseException], ...]) -> tuple[str, str]:
    """(outcome, detail) of reading ``path`` against the expectation."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = read(path)
        except error_types as error:
            return _judge_error(error, path, expect)
        except Exception as error:  # noqa: BLE001 - any other type is the finding
            return recorder.CRASH, f"{type(error).__name__}: {error}"
    skipped = any(issubclass(w.category, DataWarning) for w in caught)
    if len(got) in expect.counts_ok:
        return recorder.VALID, ""
    if expect.keys is None:
        return recorder.WRONG, f"accepted {len(got)} records; expected an error on line {expect.line}"
    if frozenset(got) != expect.keys or len(got) != len(expect.keys):
        have, want = sorted(map(repr, got))[:5], sorted(map(repr, expect.keys))[:5]
        return recorder.WRONG, f"read {have}..., expected {want}..."
    if expect.skip and not skipped:
        return recorder.WRONG, "collapsed repeated rows without a counted warning"
    return (recorder.DOCUMENTED_SKIP if expect.skip else recorder.VALID), ""


def _judge_error(error: BaseException, path: Path, expect: Expect) -> tuple[str, str]:
    text = str(error)
    if expect.keys is not None:
        return recorder.WRONG, f"valid input refused: {text}"
    if path.name not in text:
        return recorder.UNCLEAR, f"the message does not name {path.name}: {text}"
    if expect.line == -1 and not re.search(rf"{re.escape(path.name)}:\d+: ", text):
        return recorder.UNCLEAR, f"the message does not name a line: {text}"
    if expect.line not in (None, -1) and f"{path.name}:{expect.line}:" not in text:
        return recorder.UNCLEAR, f"the message does not name line {expect.line}: {text}"
    if expect.mention and expect.mention not in text:
        return recorder.UNCLEAR, f"the message does not mention {expect.mention!r}: {text}"
    return recorder.CLEAR_ERROR, ""
