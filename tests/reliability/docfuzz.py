"""The harness of the structured-file fuzz tests (issue 21): JSON documents polyret reads besides datasets.

A case is a generated valid document plus one mutation. The oracle knows from the mutation alone what a
correct reader does: accept it and return what the document says (``check``), or -- the file being
damaged -- stop with one line naming the file (``CLEAR_ERROR``), or, where polyret can recompute the
file, set it aside and recompute (``RECOMPUTED``). :func:`run_doc_case` records the outcome.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import recorder
from hypothesis import strategies as st

from polyret.errors import UserError

RECOMPUTE = object()  # what a reader under test returns when it set the file aside to recompute it
MUTATIONS = ("valid", "bom", "extra_key", "empty", "truncate", "not_json", "invalid_utf8", "wrong_top",
             "missing_key", "wrong_type")
DAMAGED = {m for m in MUTATIONS if m not in ("valid", "bom", "extra_key")}
WRONG_TOPS = ("null", "[]", "[1, 2]", "3", '"text"', "true")
# values of another JSON type than the one expected for a key (chosen per case)
WRONG_VALUES = {"str": [None, 3, 1.5, True, [], {"a": 1}], "int": [None, "3", 1.5, True, [], {}],
                "num": [None, "x", True, [], {}], "dict": [None, "x", 3, [1], True],
                "list": [None, "x", 3, {"a": 1}, True], "bool": ["yes", 2, None, []]}


@dataclass
class DocFormat:
    """A JSON file polyret reads, and the reader under test."""

    name: str  # the group in docs/reliability.md
    filename: str
    docs: st.SearchStrategy  # a valid document (dict)
    read: Callable[[Path], Any]  # returns what was read, or RECOMPUTE; raises UserError on damage
    check: Callable[[dict, Any], bool]  # does what was read match the valid document?
    required: tuple[str, ...]  # top-level keys that must be present
    typed: dict[str, str]  # top-level key -> JSON kind (a key of WRONG_VALUES)
    recomputes: bool = False  # damage -> RECOMPUTE instead of a clear error
    gzip: bool = False
    nullable: tuple[str, ...] = ()  # keys where null is valid and means "not given" (the default)


@st.composite
def doc_cases(draw, fmt: DocFormat, mutation: str):
    """(file bytes, damaged?) for one case of ``fmt`` with ``mutation``; the valid document too."""
    doc = draw(fmt.docs)
    text = json.dumps(doc, ensure_ascii=False)
    damaged = mutation in DAMAGED
    if mutation == "bom":
        return doc, b"\xef\xbb\xbf" + text.encode(), False
    if mutation == "extra_key":
        key = draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=10))
        return doc, json.dumps({**doc, f"x_{key}": draw(st.sampled_from([1, "v", None, [1], {"k": 2}]))}
                               ).encode(), False
    if mutation == "empty":
        return doc, draw(st.sampled_from([b"", b" ", b"\n"])), True
    if mutation == "truncate":
        cut = draw(st.integers(0, len(text.encode()) - 1))
        return doc, text.encode()[:cut], True
    if mutation == "not_json":
        return doc, draw(st.sampled_from([b"{oops", b"NaN-ish", b"<html>", b"{'a': 1}", b"\x00\x01"])), True
    if mutation == "invalid_utf8":
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return doc, raw[:at] + draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80"])) + raw[at:], True
    if mutation == "wrong_top":
        return doc, draw(st.sampled_from(WRONG_TOPS)).encode(), True
    if mutation == "missing_key":
        key = draw(st.sampled_from(fmt.required))
        return doc, json.dumps({k: v for k, v in doc.items() if k != key}).encode(), True
    if mutation == "wrong_type":
        key = draw(st.sampled_from(sorted(fmt.typed)))
        value = draw(st.sampled_from(WRONG_VALUES[fmt.typed[key]]))
        if value is None and key in fmt.nullable:  # valid: the same as leaving the key out
            return {k: v for k, v in doc.items() if k != key}, json.dumps({**doc, key: value}).encode(), False
        return doc, json.dumps({**doc, key: value}).encode(), True
    return doc, text.encode(), damaged


def judge_doc(fmt: DocFormat, path: Path, doc: dict, damaged: bool) -> tuple[str, str]:
    """(outcome, detail) of reading ``path``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = fmt.read(path)
        except UserError as error:
            text = str(error)
            if not damaged:
                return recorder.WRONG, f"valid input refused: {text}"
            if path.name not in text or "\n" in text:
                return recorder.UNCLEAR, f"the message does not name {path.name} on one line: {text}"
            if fmt.recomputes:
                return recorder.WRONG, f"a recomputable file stopped the run: {text}"
            return recorder.CLEAR_ERROR, ""
        except Exception as error:  # noqa: BLE001 - any other type is the finding
            return recorder.CRASH, f"{type(error).__name__}: {error}"
    if got is RECOMPUTE:
        if damaged and fmt.recomputes:
            return recorder.RECOMPUTED, ""
        return recorder.WRONG, "an intact file was recomputed" if not damaged else "recomputed unexpectedly"
    if damaged:
        return recorder.WRONG, f"damaged input accepted: {str(got)[:200]}"
    if not fmt.check(doc, got):
        return recorder.WRONG, f"read {str(got)[:200]}, expected {str(doc)[:200]}"
    return recorder.VALID, ""


def run_doc_case(fmt: DocFormat, folder: Path, mutation: str, doc: dict, data: bytes, damaged: bool) -> None:
    import gzip

    path = folder / fmt.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    path.write_bytes(gzip.compress(data, mtime=0) if fmt.gzip and mutation != "truncate" else data)
    if fmt.gzip and mutation == "truncate":  # a cut gzip stream, as a killed copy leaves it
        whole = gzip.compress(json.dumps(doc).encode(), mtime=0)
        path.write_bytes(whole[: max(1, len(data) * len(whole) // max(1, len(json.dumps(doc).encode())))])
    case = f"{fmt.name}: {mutation.replace('_', ' ')}"
    outcome, detail = judge_doc(fmt, path, doc, damaged)
    recorder.record(fmt.name, case, outcome)
    assert outcome not in recorder.BAD_OUTCOMES, f"{case}: {outcome}: {detail}"
