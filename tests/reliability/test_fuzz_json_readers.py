"""Fuzz the JSON-document readers: SQuAD-format QA files and LAReQA (XQuAD-R / MLQA-R) files.

A generated valid document (articles, paragraphs, questions with unique ids; LAReQA: sentences with
exact ``sentence_breaks``) gets one mutation: BOM, CRLF, gzip, empty, truncation, invalid UTF-8,
a wrong type at a JSON path, or a duplicate question id. The reader must return exactly the expected
questions (and candidates), or stop with a clear error naming the file and the line (JSON syntax,
encoding) or the JSON path (structure).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import pytest
import recorder
from fuzzing import BOM, Expect, ids, judge, texts
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from polyret.data.lareqa import read_lareqa_file
from polyret.data.squad import read_squad_pairs
from polyret.errors import UserError

# cases per (reader, mutation): 2 readers x 21 mutations x 40 -> about 1,700 cases
EXAMPLES = int(os.environ.get("POLYRET_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
WORDS = st.text(st.characters(categories=["L", "N", "Zs", "P"]), min_size=1, max_size=12)
nonblank = texts.filter(lambda t: t.strip())
# (JSON path suffix, replacement value, still valid for SQuAD, still valid for LAReQA)
BREAKS = {
    "data": [({"a": 1}, False, False), ("x", False, False)],
    "article": [([1], False, False)],
    "title": [(None, True, True), (["t"], False, False), (3.5, False, False)],
    "paragraphs": [({"a": 1}, False, False), (None, False, False)],
    "paragraph": [("p", False, False)],
    "context": [(None, False, False), (7, False, False)],
    "qas": [({"q": 1}, False, False), ("q", False, False)],
    "qa": [(["x"], False, False)],
    "id": [(None, False, False), (["t2"], False, False), (1.5, False, False), (True, False, False)],
    "question": [(None, False, False), ("  ", False, False), (["q"], False, False), (12, False, False)],
    "answers": [([], False, False), (None, False, False), ({"text": "a"}, False, False)],
    "answer_text": [(["a"], False, False), (None, True, True)],
    "answer_start": [(1.5, True, False), (3.0, True, False), ("x", True, False), (None, True, False),
                     (-1, True, False), (True, True, False)],
}


@st.composite
def paragraphs(draw, lareqa: bool, qids: list[str]):
    sentences = draw(st.lists(WORDS, min_size=1, max_size=3))
    context = " ".join(sentences)
    starts = [sum(len(s) + 1 for s in sentences[:k]) for k in range(len(sentences))]
    qas = []
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(0, len(sentences) - 1))
        answer = {"text": sentences[k][:2], "answer_start": starts[k]}
        qas.append({"id": qids.pop() if qids else draw(ids), "question": draw(nonblank), "answers": [answer]})
    par = {"context": context, "qas": qas}
    if lareqa:
        par["sentences"] = sentences
        par["sentence_breaks"] = [[a, a + len(s)] for a, s in zip(starts, sentences, strict=True)]
    return par


@st.composite
def documents(draw, lareqa: bool):
    qids = draw(st.lists(ids, min_size=20, max_size=20, unique=True))
    articles = [{"title": draw(texts), "paragraphs": draw(st.lists(paragraphs(lareqa, qids), max_size=3))}
                for _ in range(draw(st.integers(0, 3)))]
    return {"version": "1.1", "data": articles}


def _paths(doc: dict) -> dict[str, list[tuple[list, str]]]:
    """Where each kind of break can go: kind -> [(container path as keys, JSON path text)]."""
    out: dict[str, list[tuple[list, str]]] = {k: [] for k in BREAKS}
    out["data"].append(([], ""))
    for a, art in enumerate(doc["data"]):
        where = f"data[{a}]"
        out["article"].append((["data", a], where))
        out["title"].append((["data", a], where))
        out["paragraphs"].append((["data", a], where))
        for p, par in enumerate(art["paragraphs"]):
            pw = f"{where}.paragraphs[{p}]"
            out["paragraph"].append((["data", a, "paragraphs", p], pw))
            out["context"].append((["data", a, "paragraphs", p], pw))
            out["qas"].append((["data", a, "paragraphs", p], pw))
            for q in range(len(par["qas"])):
                qw = f"{pw}.qas[{q}]"
                keys = ["data", a, "paragraphs", p, "qas", q]
                for kind in ("qa", "id", "question", "answers", "answer_text", "answer_start"):
                    out[kind].append((keys, qw))
    return out


def _apply(doc: dict, kind: str, keys: list, value) -> None:
    """Put ``value`` at the place of ``kind`` under the container reached by ``keys``."""
    if kind in ("article", "paragraph", "qa"):  # replace the element itself
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
        return
    node = doc
    for k in keys:
        node = node[k]
    if kind in ("answer_text", "answer_start"):
        node["answers"][0]["text" if kind == "answer_text" else "answer_start"] = value
    else:
        node[kind] = value


def _expected_keys(doc: dict, lareqa: bool) -> frozenset:
    qids = [qa["id"] for art in doc["data"] for par in art["paragraphs"] for qa in par["qas"]]
    cands = [f"#cand{i}" for i in range(sum(len(par.get("sentences", ())) for art in doc["data"]
                                            for par in art["paragraphs"]))] if lareqa else []
    return frozenset(qids + cands)


MUTATIONS = ["valid", "bom", "crlf", "gzip", "empty", "truncate", "invalid_utf8", "duplicate_id",
             *(f"wrong_type:{kind}" for kind in BREAKS)]


@st.composite
def json_cases(draw, lareqa: bool, mutation: str):
    doc = draw(documents(lareqa))
    expect = Expect(keys=_expected_keys(doc, lareqa))
    if mutation.startswith("wrong_type:"):
        kind = mutation.split(":")[1]
        places = _paths(doc)[kind]
        assume(places)
        keys, where = draw(st.sampled_from(places))
        value, ok_squad, ok_lareqa = draw(st.sampled_from(BREAKS[kind]))
        _apply(doc, kind, keys, value)
        mutation = f"wrong type: {kind}"
        if not (ok_lareqa if lareqa else ok_squad):
            expect = Expect(mention=where if kind != "data" else "'data' list")
    elif mutation == "duplicate_id":
        qas = [qa for art in doc["data"] for par in art["paragraphs"] for qa in par["qas"]]
        assume(len(qas) >= 2)
        i, j = sorted(draw(st.lists(st.integers(0, len(qas) - 1), min_size=2, max_size=2, unique=True)))
        qas[j]["id"] = qas[i]["id"]
        expect = Expect(mention=f"duplicate question id {qas[i]['id']!r}")
    text = json.dumps(doc, ensure_ascii=False, indent=draw(st.sampled_from([None, 1])))
    data = text.encode("utf-8")
    if mutation == "bom":
        data = BOM + data
    elif mutation == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif mutation == "empty":
        data, expect = b"", Expect(mention="empty file")
    elif mutation == "truncate":
        data, expect = data[:draw(st.integers(1, len(data) - 1))], Expect(line=-1)
    elif mutation == "invalid_utf8":
        at = draw(st.integers(0, len(data)))
        data, expect = data[:at] + b"\xff" + data[at:], Expect(line=data.count(b"\n", 0, at) + 1)
    gz = mutation == "gzip"
    if gz:
        data = gzip.compress(data, mtime=0)
    return mutation, data, gz, expect


def _read_squad(path: Path) -> list:
    return [p.item_id for p in read_squad_pairs(path, "en")]


def _read_lareqa(path: Path) -> list:
    questions, candidates, *_ = read_lareqa_file(path, "en")
    return [q.question_id for q in questions] + [f"#cand{i}" for i in range(len(candidates))]


READERS = {"SQuAD-format .json": (_read_squad, False), "LAReQA .json": (_read_lareqa, True)}


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("name", sorted(READERS))
def test_json_reader_fuzz(name: str, mutation: str):
    read, lareqa = READERS[name]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        @FUZZ
        @given(case=json_cases(lareqa, mutation))
        def check(case):
            label, data, gz, expect = case
            for stale in folder.iterdir():
                stale.unlink()
            path = folder / ("en.json.gz" if gz else "en.json")
            path.write_bytes(data)
            outcome, detail = judge(read, path, expect, (UserError,))
            recorder.record(name, f"{name}: {label.replace('_', ' ')}", outcome)
            assert outcome not in recorder.BAD_OUTCOMES, f"{label}: {outcome}: {detail}\n{expect}"

        check()
