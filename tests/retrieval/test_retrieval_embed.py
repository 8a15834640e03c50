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
from polyret.retrieval.embed import (
    IncompleteOutputError,
    InputFormatError,
    read_embeddings,
    read_texts,
    shard_bounds,
    write_embeddings,
)

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


def test_cli_embed_writes_matrix_ids_and_settings(model_dir, tiny_model, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / "out.npy"
    assert main(["embed", "--model", str(model_dir), "--input", str(tmp_path / "in.txt"), "--side",
                 "query", "--output", str(out), "--batch-size", "3", "--precision", "fp32"]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "EmptyTextWarning" in line]
    assert len(warned) == 1 and "1 of 8" in warned[0]  # the empty line is embedded, and said so (one line)
    emb = np.load(out)
    with pytest.warns(EmptyTextWarning):
        np.testing.assert_allclose(emb, tiny_model.encode(TEXTS, side="query"), atol=1e-5)
    assert (tmp_path / "out.npy.ids.txt").read_text().split() == [str(i) for i in range(1, 9)]
    info = json.loads((tmp_path / "out.npy.json").read_text())
    assert info["rows"] == 8 and info["side"] == "query"
    assert info["encoder_config"]["query_prefix"] == "query: "
    assert info["precision"]["requested"] == "fp32" and info["precision"]["used"] == "fp32"
    ids, back, _ = read_embeddings(out)
    assert ids == [str(i) for i in range(1, 9)] and np.array_equal(back, emb)


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
                     "--top-k", "3", "--output", str(out), "--no-cache", "--precision", "fp32"]) == 0
        run = read_run(out)
        assert set(run) == {"q1", "q2"} and all(1 <= len(r) <= 3 for r in run.values())
        info = json.loads(out.with_name(out.name + ".json").read_text())
        assert info["retriever"] == ("bm25" if name == "bm25" else "dense")
    assert next(iter(read_run(tmp_path / "bm25.trec")["q2"])) == "d5"


def test_cli_search_needs_exactly_one_retriever(tmp_path, capsys):
    assert main(["search", "--corpus", "c", "--queries", "q", "--output", str(tmp_path / "r.trec")]) == 2
    assert "exactly one" in capsys.readouterr().err


@pytest.mark.slow
def test_torchrun_two_processes_match_single_process(model_dir, tiny_model, tmp_path):
    texts = [f"{t} {i}".strip() for i in range(3) for t in TEXTS]  # 24 texts, uneven per rank
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    out = tmp_path / "dist.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "POLYRET_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "polyret", "embed", "--model", str(model_dir), "--input", str(tmp_path / "in.txt"),
           "--side", "passage", "--output", str(out), "--batch-size", "4", "--device", "cpu",
           "--precision", "fp32"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(out), tiny_model.encode(texts, side="passage"), atol=1e-5)
    assert not list(tmp_path.glob("dist.npy.rank*"))  # shards merged and removed
    assert json.loads((tmp_path / "dist.npy.json").read_text())["world_size"] == 2


@pytest.mark.parametrize("bad_id", ['"a\\nb"', '"a\\r"', '""', '["t2"]', 'null'])
def test_ids_that_would_misalign_ids_txt_are_refused(tmp_path, bad_id):
    path = tmp_path / "x.jsonl"
    path.write_text('{"_id": "ok", "text": "a"}\n{"_id": ' + bad_id + ', "text": "b"}\n')
    with pytest.raises(InputFormatError, match=r"x\.jsonl:2: "):
        read_texts(path)


@pytest.mark.parametrize("damage", ["no_manifest", "npy", "ids"])
def test_embedding_output_is_one_unit(tmp_path, damage):
    out = tmp_path / "e.npy"
    write_embeddings(out, np.eye(3, dtype=np.float32), ["a", "b", "c"], {"model": "m"})
    assert read_embeddings(out)[0] == ["a", "b", "c"]
    if damage == "no_manifest":  # a kill after the new .npy, before the new .json
        (tmp_path / "e.npy.json").unlink()
    elif damage == "npy":  # a newer matrix beside the older ids and manifest
        np.save(out, np.eye(4, dtype=np.float32))
    else:
        (tmp_path / "e.npy.ids.txt").write_text("a\nb\n")
    with pytest.raises(IncompleteOutputError, match="e.npy"):
        read_embeddings(out)


def test_embed_of_a_diverged_model_is_refused(tiny_model, tmp_path, capsys):
    import torch

    with torch.no_grad():
        tiny_model.backbone.encoder.layer[0].output.dense.bias.fill_(float("nan"))
    tiny_model.save(tmp_path / "nan")
    (tmp_path / "in.txt").write_text("paris\nthe dog\n")
    code = main(["embed", "--model", str(tmp_path / "nan"), "--input", str(tmp_path / "in.txt"),
                 "--output", str(tmp_path / "o.npy"), "--precision", "fp32"])
    assert code == 2 and "NaN or infinite" in capsys.readouterr().err
    assert not (tmp_path / "o.npy.json").exists()


def test_cli_search_drops_self_hits_like_evaluate(model_dir, tmp_path):
    from polyret.retrieval.trec import read_run

    corpus = tmp_path / "beir"
    corpus.mkdir()
    docs = [{"_id": f"d{i}", "title": "", "text": t} for i, t in enumerate(TEXTS) if t]
    (corpus / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    own = '{"_id": "d5", "text": "the sky is blue, capital of france"}\n'  # d5 is also a document
    (corpus / "queries.jsonl").write_text(own)
    base = ["search", "--corpus", str(corpus), "--queries", str(corpus / "queries.jsonl"), "--top-k", "3",
            "--no-cache"]
    for extra in (["--bm25"], ["--model", str(model_dir), "--precision", "fp32"]):
        assert main([*base, *extra, "--output", str(tmp_path / "a.trec")]) == 0
        assert main([*base, *extra, "--output", str(tmp_path / "b.trec"), "--keep-self-hits"]) == 0
        dropped, kept = read_run(tmp_path / "a.trec")["d5"], read_run(tmp_path / "b.trec")["d5"]
        assert next(iter(kept)) == "d5" and "d5" not in dropped
        assert list(dropped)[:2] == list(kept)[1:3]
        assert len(dropped) == (3 if "--model" in extra else 2)  # BM25: only 2 other docs match at all
        assert json.loads((tmp_path / "a.trec.json").read_text())["self_hits_removed"] == 1


@pytest.mark.slow
def test_search_on_real_arguana_drops_its_self_hits(tmp_path):
    """ArguAna's queries are corpus documents too: BM25 ranks most of them first."""
    from pathlib import Path

    from polyret.retrieval.trec import read_run

    folder = Path(__file__).resolve().parents[3] / "shared" / "data" / "beir" / "arguana"
    if not (folder / "corpus.jsonl").is_file():
        pytest.skip(f"{folder} not present")
    out = tmp_path / "arguana.trec"
    assert main(["search", "--bm25", "--corpus", str(folder), "--queries", str(folder / "queries.jsonl"),
                 "--top-k", "10", "--output", str(out)]) == 0
    run = read_run(out)
    info = json.loads((tmp_path / "arguana.trec.json").read_text())
    assert len(run) == 1406 and all(q not in docs for q, docs in run.items())
    assert all(len(docs) == 10 for docs in run.values())
    assert info["self_hits_removed"] > 1000  # 1,298 with this BM25


def _stale_and_recent(folder, stem):
    """A ``.tmp-*`` leftover of a killed write an hour old, and one being written right now."""
    folder.mkdir(parents=True, exist_ok=True)
    stale, recent = folder / f".tmp-{stem}-old", folder / f".tmp-{stem}-new"
    stale.write_bytes(b"half")
    recent.write_bytes(b"half")
    os.utime(stale, (1, 1))
    return stale, recent


@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_a_bom_is_dropped_from_txt_and_jsonl(tmp_path, errors):
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.txt").write_bytes(bom + b"first\nsecond\n")
    assert read_texts(tmp_path / "a.txt", errors=errors) == (["1", "2"], ["first", "second"])
    (tmp_path / "b.jsonl").write_bytes(bom + b'{"_id": "t1", "text": "first"}\n')
    assert read_texts(tmp_path / "b.jsonl", errors=errors) == (["t1"], ["first"])
    (tmp_path / "c.txt").write_bytes(bom + "\ufeffkept".encode())  # only the file's own mark goes
    assert read_texts(tmp_path / "c.txt", errors=errors)[1] == ["\ufeffkept"]


def test_write_embeddings_removes_stale_leftovers(tmp_path):
    stale, recent = _stale_and_recent(tmp_path, "e.npy")
    write_embeddings(tmp_path / "e.npy", np.zeros((1, 2), dtype=np.float32), ["a"], {})
    assert not stale.exists() and recent.exists()
    assert read_embeddings(tmp_path / "e.npy")[0] == ["a"]


def test_cli_search_removes_stale_leftovers_and_refuses_unwritable_ids_first(tmp_path, capsys,
                                                                             monkeypatch):
    import polyret.retrieval.pipeline as pipeline

    corpus = tmp_path / "beir"
    corpus.mkdir()
    (corpus / "corpus.jsonl").write_text('{"_id": "d1", "text": "blue sky"}\n{"_id": "d 2", "text": "x"}\n')
    (corpus / "queries.jsonl").write_text('{"_id": "q1", "text": "sky"}\n')
    out = tmp_path / "out" / "r.trec"
    stale, recent = _stale_and_recent(out.parent, "r.trec")
    searched = []
    monkeypatch.setattr(pipeline, "retrieve", lambda *a, **k: searched.append(1))
    args = ["search", "--bm25", "--corpus", str(corpus), "--queries", str(corpus / "queries.jsonl"),
            "--output", str(out)]
    assert main(args) == 2 and not searched  # refused before searching
    assert "doc id 'd 2'" in capsys.readouterr().err
    (corpus / "corpus.jsonl").write_text('{"_id": "d1", "text": "blue sky"}\n')
    assert main([*args, "--tag", "two words"]) == 2 and not searched
    assert "run tag" in capsys.readouterr().err
    monkeypatch.undo()
    assert main(args) == 0
    assert not stale.exists() and recent.exists() and out.is_file()
