"""A UTF-8 byte order mark at the start of a file is dropped by every reader (issue 10.8): the result
equals that of the same file without it (never a BOM inside the first id or text, never a refusal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import recorder

BOM = b"\xef\xbb\xbf"


def _squad() -> str:
    qa = {"id": "q1", "question": "Who?", "answers": [{"text": "Ann", "answer_start": 0}]}
    return json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "Ann went.", "qas": [qa]}]}]})


def _read(kind: str, path: Path):
    from polyret.data import beir, trec
    from polyret.data.squad import read_squad_pairs

    if kind == "corpus.jsonl":
        return beir.read_corpus(path)
    if kind == "qrels.tsv":
        return beir.read_qrels_tsv(path)[0]
    if kind == "topics.tsv":
        return trec.read_topics(path)
    if kind == "trec-qrels.txt":
        return trec.read_trec_qrels(path)
    if kind == "squad.json":
        return read_squad_pairs(path, "en")
    if kind == "config.yaml":
        from polyret.config import load_config

        return load_config(path).to_dict()
    if kind == "run.trec":
        from polyret.retrieval.trec import read_run

        return read_run(path)
    if kind == "queries.tsv (search)":
        from polyret.retrieval.pipeline import load_queries

        return load_queries(path)
    from polyret.retrieval.embed import read_texts

    return read_texts(path)


CASES = {
    "corpus.jsonl": '{"_id": "d1", "title": "", "text": "a"}\n',
    "qrels.tsv": "q1\td1\t1\n",
    "topics.tsv": "q1\tfirst query\n",
    "trec-qrels.txt": "q1 0 d1 1\n",
    "squad.json": _squad(),
    "config.yaml": "train:\n  lr: 0.001\n",
    "run.trec": "q1 Q0 d1 1 0.5 tag\n",
    "queries.tsv (search)": "q1\tfirst query\n",
    "texts.txt (embed)": "first text\nsecond\n",
    "texts.jsonl (embed)": '{"_id": "t1", "text": "first"}\n',
}


@pytest.mark.parametrize("kind", list(CASES))
def test_bom_is_dropped(tmp_path, kind):
    suffix = kind.split()[0].rsplit(".", 1)[1]
    plain, marked = tmp_path / f"plain.{suffix}", tmp_path / f"bom.{suffix}"
    plain.write_bytes(CASES[kind].encode("utf-8"))
    marked.write_bytes(BOM + CASES[kind].encode("utf-8"))
    expected = _read(kind, plain)
    try:
        got = _read(kind, marked)
    except Exception as error:  # noqa: BLE001 - a refusal is the finding; recorded, then asserted
        got = error
    same = got == expected
    recorder.record("BOM at the start of a file", f"BOM: {kind}", recorder.VALID if same else recorder.WRONG)
    assert same, f"{kind}: {got!r} != {expected!r}"
