"""Input files, ``polyret embed`` / ``polyret search`` end to end, and 2-process sharded encoding."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from polyret.cli import main
from polyret.modeling.encoder import EmptyTextWarning
from polyret.retrieval.embed import InputFormatError, read_texts, shard_bounds

TEXTS = ["what is the capital of france", "paris is the capital city of france", "", "the dog is fast",
         "berlin is in germany", "the sky is blue", "a green tree", "madrid spain"]


@pytest.fixture
def model_dir(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "tiny")
    return tmp_path / "tiny"


def test_read_txt_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("first\n\nthird\r\n", encoding="utf-8")
    assert read_texts(tmp_path / "a.txt") == (["1", "2", "3"], ["first", "", "third"])
    (tmp_path / "b.jsonl").write_text('{"_id": "d1", "title": "T", "text": "body"}\n\n{"text": "x"}\n')
    assert read_texts(tmp_path / "b.jsonl") == (["d1", "3"], ["T body", "x"])


def test_non_utf8_input_names_file_and_line_or_is_replaced(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nbad \xff\xfe byte\nfine again\n")
    with pytest.raises(InputFormatError, match=r"bad\.txt:2: not valid UTF-8"):
        read_texts(path)
    with pytest.warns(UnicodeWarning, match="1 line"):
        _, texts = read_texts(path, errors="replace")
    assert texts[1] == "bad \ufffd\ufffd byte"


@pytest.mark.parametrize("content,message", [('{"text": 3}\n', r"x\.jsonl:1: expected an object"),
                                             ('{"text": "a"}\n{oops\n', r"x\.jsonl:2: invalid JSON")])
def test_bad_jsonl_names_the_line(tmp_path, content, message):
    (tmp_path / "x.jsonl").write_text(content)
    with pytest.raises(InputFormatError, match=message):
        read_texts(tmp_path / "x.jsonl")


def test_unsupported_suffix(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    with pytest.raises(InputFormatError, match="unsupported input type"):
        read_texts(tmp_path / "x.csv")


def test_shard_bounds_cover_everything():
    for n in (0, 1, 7, 10):
        bounds = [shard_bounds(n, r, 3) for r in range(3)]
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


def test_cli_embed_writes_matrix_ids_and_settings(model_dir, tiny_model, tmp_path):
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / "out.npy"
    with pytest.warns(EmptyTextWarning, match="1 of 8"):  # the empty line is embedded, and said so
        assert main(["embed", "--model", str(model_dir), "--input", str(tmp_path / "in.txt"), "--side",
                     "query", "--output", str(out), "--batch-size", "3"]) == 0
    emb = np.load(out)
    with pytest.warns(EmptyTextWarning):
        np.testing.assert_allclose(emb, tiny_model.encode(TEXTS, side="query"), atol=1e-5)
    assert (tmp_path / "out.npy.ids.txt").read_text().split() == [str(i) for i in range(1, 9)]
    info = json.loads((tmp_path / "out.npy.json").read_text())
    assert info["rows"] == 8 and info["side"] == "query"
    assert info["encoder_config"]["query_prefix"] == "query: "


def test_cli_search_dense_and_bm25(model_dir, tmp_path):
    from polyret.retrieval.trec import read_run

    corpus = tmp_path / "beir"
    corpus.mkdir()
    docs = [{"_id": f"d{i}", "title": "", "text": t} for i, t in enumerate(TEXTS) if t]
    (corpus / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (corpus / "queries.jsonl").write_text('{"_id": "q1", "text": "capital of france"}\n'
                                          '{"_id": "q2", "text": "blue sky"}\n')
    for extra, name in ((["--model", str(model_dir)], "dense"), (["--bm25"], "bm25"),
                        (["--model", str(model_dir), "--faiss", "hnsw"], "hnsw")):
        out = tmp_path / f"{name}.trec"
        assert main(["search", *extra, "--corpus", str(corpus), "--queries", str(corpus / "queries.jsonl"),
                     "--top-k", "3", "--output", str(out), "--no-cache"]) == 0
        run = read_run(out)
        assert set(run) == {"q1", "q2"} and all(1 <= len(r) <= 3 for r in run.values())
        info = json.loads(out.with_name(out.name + ".json").read_text())
        assert info["retriever"] == ("bm25" if name == "bm25" else "dense")
    assert next(iter(read_run(tmp_path / "bm25.trec")["q2"])) == "d5"


def test_cli_search_needs_exactly_one_retriever(tmp_path):
    with pytest.raises(SystemExit, match="exactly one"):
        main(["search", "--corpus", "c", "--queries", "q", "--output", str(tmp_path / "r.trec")])


@pytest.mark.slow
def test_torchrun_two_processes_match_single_process(model_dir, tiny_model, tmp_path):
    texts = [f"{t} {i}".strip() for i in range(3) for t in TEXTS]  # 24 texts, uneven per rank
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    out = tmp_path / "dist.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "POLYRET_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "polyret", "embed", "--model", str(model_dir), "--input", str(tmp_path / "in.txt"),
           "--side", "passage", "--output", str(out), "--batch-size", "4", "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(out), tiny_model.encode(texts, side="passage"), atol=1e-5)
    assert not list(tmp_path.glob("dist.npy.rank*"))  # shards merged and removed
    assert json.loads((tmp_path / "dist.npy.json").read_text())["world_size"] == 2
