"""The CLI's one error boundary (``polyret.cli.main``): user errors of every command print one line
``polyret: error: <message>`` naming the file (and line), exit 2, no traceback unless ``-v``; a full
disk names the file and exits 1; Ctrl-C exits 130; a bug keeps its traceback (exit 1)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import recorder

from polyret.cli import main


def _beir(folder: Path, corpus: list[str] | None = None, queries: list[str] | None = None,
          qrels: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    docs = corpus if corpus is not None else [
        json.dumps({"_id": f"d{i}", "title": "", "text": t})
        for i, t in enumerate(["paris is the capital of france", "berlin is in germany", "the sky is blue"])]
    qs = queries if queries is not None else [json.dumps({"_id": "q1", "text": "capital of france"}),
                                              json.dumps({"_id": "q2", "text": "germany"})]
    rels = qrels if qrels is not None else ["query-id\tcorpus-id\tscore", "q1\td0\t1", "q2\td1\t1"]
    (folder / "corpus.jsonl").write_text("\n".join(docs) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text("\n".join(qs) + "\n", encoding="utf-8")
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_text("\n".join(rels) + "\n", encoding="utf-8")
    return folder


def _user_error(capsys, argv: list[str], *needles: str, case: str) -> str:
    """Run ``argv``; assert exit 2 and one clean line holding every needle; record the outcome."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("polyret: error: ")]
    ok = code == 2 and "Traceback" not in err and len(lines) == 1 and all(n in lines[0] for n in needles)
    recorder.record("CLI errors (exit 2, one line)", case, recorder.CLEAR_ERROR if ok else (
        recorder.CRASH if "Traceback" in err else recorder.UNCLEAR))
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1 and all(n in lines[0] for n in needles), err
    return lines[0]


def test_data_unknown_dataset(capsys):
    _user_error(capsys, ["data", "stats", "no-such-set"], "unknown dataset 'no-such-set'",
                case="data stats: unknown dataset")


def test_evaluate_bad_corpus_line_names_file_and_line(tmp_path, capsys):
    folder = _beir(tmp_path / "b", corpus=[json.dumps({"_id": "d0", "text": "x"}), "{oops"])
    _user_error(capsys, ["evaluate", "--model", "bm25", "--task", f"beir/{folder}"],
                f"{folder / 'corpus.jsonl'}:2: malformed JSON line", case="evaluate: malformed corpus line")


def test_evaluate_invalid_utf8_names_the_line(tmp_path, capsys):
    folder = _beir(tmp_path / "b")
    raw = (folder / "queries.jsonl").read_bytes().replace(b"germany", b"germ\xffany")
    (folder / "queries.jsonl").write_bytes(raw)
    _user_error(capsys, ["evaluate", "--model", "bm25", "--task", f"beir/{folder}"],
                f"{folder / 'queries.jsonl'}:2: invalid UTF-8", case="evaluate: invalid UTF-8 in queries")


def test_evaluate_conflicting_qrels_names_both_lines(tmp_path, capsys):
    folder = _beir(tmp_path / "b", qrels=["query-id\tcorpus-id\tscore", "q1\td0\t1", "q1\td0\t0"])
    _user_error(capsys, ["evaluate", "--model", "bm25", "--task", f"beir/{folder}"],
                "test.tsv:3: (q1, d0) judged twice: 1 on line 2 and 0 on line 3",
                case="evaluate: conflicting qrels rows")


def test_evaluate_missing_split(tmp_path, capsys):
    folder = _beir(tmp_path / "b")
    _user_error(capsys, ["evaluate", "--model", "bm25", "--task", f"beir/{folder}", "--split", "dev"],
                "dev.tsv not found", case="evaluate: missing qrels split")


def test_search_bad_queries_line(tmp_path, capsys):
    folder = _beir(tmp_path / "b")
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"_id": "q1", "text": "x"}\n{"_id": null, "text": "y"}\n', encoding="utf-8")
    _user_error(capsys, ["search", "--bm25", "--corpus", str(folder), "--queries", str(bad), "--output",
                         str(tmp_path / "run.trec")], f"{bad}:2:", case="search: null query id")
    assert not (tmp_path / "run.trec").exists()


def test_search_missing_corpus(tmp_path, capsys):
    _user_error(capsys, ["search", "--bm25", "--corpus", str(tmp_path / "nope"), "--queries",
                         str(tmp_path / "q.jsonl"), "--output", str(tmp_path / "run.trec")], "nope",
                case="search: missing corpus")


def test_embed_invalid_utf8_input(tmp_path, capsys, tiny_model):
    tiny_model.save(tmp_path / "m")
    (tmp_path / "in.txt").write_bytes(b"fine\nbad \xff byte\n")
    _user_error(capsys, ["embed", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "in.txt"),
                         "--output", str(tmp_path / "o.npy")], "in.txt:2:", case="embed: invalid UTF-8 line")
    assert not (tmp_path / "o.npy").exists()


def test_embed_missing_model(tmp_path, capsys):
    (tmp_path / "in.txt").write_text("a\n", encoding="utf-8")
    _user_error(capsys, ["embed", "--model", str(tmp_path / "no-model"), "--input", str(tmp_path / "in.txt"),
                         "--output", str(tmp_path / "o.npy")], "no-model", case="embed: missing model folder")


@pytest.mark.parametrize(("text", "needle"), [
    ("train:\n  lr: -1\n", "train.lr"),
    ("train: 3\n", "'train' must be a section"),
    ("", "empty"),
    ("trainer:\n  lr: 0.1\n", "trainer"),
])
def test_train_bad_config(tmp_path, capsys, text, needle):
    config = tmp_path / "c.yaml"
    config.write_text(text, encoding="utf-8")
    _user_error(capsys, ["train", "--config", str(config)], str(config), needle,
                case=f"train: bad config ({needle})")


def test_train_bad_training_file_names_file_and_line(tmp_path, capsys):
    data = tmp_path / "pairs.jsonl"
    row = {"item_id": "1", "lang": "en", "question": "q", "passage": "p", "passage_id": "p1"}
    data.write_text(json.dumps(row) + "\n{broken\n", encoding="utf-8")
    _user_error(capsys, ["train", "--set", "model.name=tiny", "--set", f"data.train_data=[{data}]",
                         "--set", f"train.output_dir={tmp_path / 'run'}", "--set", "train.max_steps=1"],
                f"{data}:2:", case="train: malformed training line")


def test_verbose_shows_the_traceback(capsys):
    assert main(["-v", "data", "stats", "no-such-set"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "polyret: error: unknown dataset" in err


def test_keyboard_interrupt_exits_130_quietly(monkeypatch, capsys):
    import polyret.cli.data as data_cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_cli, "_list", interrupted)
    assert main(["data", "list"]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip() == "polyret: interrupted"


def test_a_bug_keeps_its_traceback(monkeypatch, capsys):
    import polyret.cli.data as data_cli

    def broken(args):
        raise RuntimeError("internal invariant broken")

    monkeypatch.setattr(data_cli, "_list", broken)
    assert main(["data", "list"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: internal invariant broken" in err
    assert "polyret: internal error (RuntimeError)" in err


def _full_disk(monkeypatch):
    """Every atomic write fails as on a full disk (fsync is where a full disk reports ENOSPC)."""
    import polyret.atomic

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(polyret.atomic.os, "fsync", no_space)


def test_full_disk_writing_results_names_the_file(tmp_path, monkeypatch, capsys):
    folder = _beir(tmp_path / "b")
    out = tmp_path / "out" / "results.json"
    _full_disk(monkeypatch)
    code = main(["evaluate", "--model", "bm25", "--task", f"beir/{folder}", "--no-cache", "--output",
                 str(out)])
    err = capsys.readouterr().err
    ok = code == 1 and f"no space left on the device while writing {out}" in err and "Traceback" not in err
    left = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    recorder.record("fault: full disk (simulated ENOSPC)", "evaluate: results file",
                    recorder.CLEAR_ERROR if ok and not left else recorder.WRONG)
    assert code == 1 and "Traceback" not in err, err
    assert f"polyret: error: no space left on the device while writing {out}" in err
    assert left == []  # neither the results file nor a temporary is left behind


def test_full_disk_writing_a_run_file_names_the_file(tmp_path, monkeypatch, capsys):
    folder = _beir(tmp_path / "b")
    out = tmp_path / "out" / "run.trec"
    _full_disk(monkeypatch)
    code = main(["search", "--bm25", "--corpus", str(folder), "--queries", str(folder / "queries.jsonl"),
                 "--output", str(out)])
    err = capsys.readouterr().err
    left = sorted(p.name for p in out.parent.iterdir()) if out.parent.exists() else []
    ok = code == 1 and f"while writing {out}" in err and not left
    recorder.record("fault: full disk (simulated ENOSPC)", "search: TREC run file",
                    recorder.CLEAR_ERROR if ok else recorder.WRONG)
    assert ok, f"search on a full disk: exit {code}, left {left}, stderr {err[-300:]}"


def test_other_commands_user_errors(tmp_path, capsys):
    """compare, subsets, report, experiment, sample and mine: one line, exit 2, the file named."""
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{broken\n", encoding="utf-8")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("train: 3\n", encoding="utf-8")
    cases = [
        (["compare", str(bad_json), str(bad_json)], f"{bad_json}:1:", "compare: malformed results file"),
        (["compare", str(tmp_path / "nope.json"), str(bad_json)], "nope.json",
         "compare: missing results file"),
        (["subsets", "--task", f"beir/{tmp_path / 'none'}"], "none", "subsets: missing BEIR folder"),
        (["report", str(tmp_path / "none")], "none", "report: not an experiment folder"),
        (["experiment", "status", str(tmp_path / "none")], "none", "experiment: not an experiment folder"),
        (["sample", "--config", str(bad_yaml), "--output", str(tmp_path / "o.jsonl")], str(bad_yaml),
         "sample: bad config"),
        (["mine", "--bm25", "--train", str(bad_json), "--output", str(tmp_path / "m.jsonl")],
         f"{bad_json}:1:", "mine: malformed training file"),
    ]
    import importlib.util

    for argv, needle, case in cases:
        if importlib.util.find_spec(f"polyret.cli.{argv[0]}") is None:
            continue  # a command another change has not landed yet
        _user_error(capsys, argv, needle, case=case)


@pytest.mark.parametrize("target", ["queries", "corpus_file", "inside_corpus_folder", "manifest"])
def test_search_refuses_an_output_that_is_one_of_its_inputs(tmp_path, capsys, target):
    folder = _beir(tmp_path / "b")
    queries = folder / "queries.jsonl"
    corpus = folder if target == "inside_corpus_folder" else folder / "corpus.jsonl"
    output = {"queries": queries, "corpus_file": folder / "corpus.jsonl",
              "inside_corpus_folder": folder / "qrels" / "test.tsv",
              "manifest": tmp_path / "q"}[target]
    if target == "manifest":  # --output q writes q.json beside it: that is the queries file here
        (tmp_path / "q.json").write_bytes(queries.read_bytes())
        queries = tmp_path / "q.json"
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    _user_error(capsys, ["search", "--bm25", "--corpus", str(corpus), "--queries", str(queries),
                         "--output", str(output)], "is the input", "choose another output path",
                case=f"search: --output is an input ({target.replace('_', ' ')})")
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_embed_refuses_to_write_over_its_input(tmp_path, capsys):
    texts = tmp_path / "texts.npy"
    texts.write_text("one\ntwo\n")
    _user_error(capsys, ["embed", "--model", "x", "--input", str(texts), "--output", str(texts)],
                "--output", "is the input --input", case="embed: --output is --input")
    assert texts.read_text() == "one\ntwo\n"


def test_mine_refuses_to_write_over_its_training_file(tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"x": 1}\n')
    _user_error(capsys, ["mine", "--bm25", "--train", str(pairs), "--output", str(pairs)],
                "is the input --train", case="mine: --output is --train")
    assert pairs.read_text() == '{"x": 1}\n'
