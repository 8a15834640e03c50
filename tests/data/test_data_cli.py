from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from polyret.cli import main


@pytest.fixture
def scifact_root(tmp_path, make_beir):
    docs = {"d1": ("t", "a"), "d2": ("", "b")}
    make_beir(
        docs, {"q1": "x", "q2": "y"}, {"test": ["q1\td1\t1", "q1\td9\t1"], "train": ["q2\td2\t1"]}, name="s"
    )
    root = tmp_path / "root"
    (root / "beir").mkdir(parents=True)
    (tmp_path / "s").rename(root / "beir" / "scifact")
    return root


def test_stats_prints_json_counts_per_split(scifact_root, capsys):
    assert main(["data", "stats", "beir/scifact", "--data-dir", str(scifact_root)]) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "test.tsv: skipped 1 qrels rows" in captured.err
    stats = json.loads(captured.out)
    assert stats["docs"] == 2 and stats["queries"] == 2
    assert stats["splits"]["test"] == {
        "queries_in_qrels": 1,
        "judged_queries": 1,
        "qrels": 1,
        "qrels_skipped_missing_doc": 1,
        "relevant": 1,
    }
    assert stats["splits"]["train"]["qrels"] == 1


def test_stats_of_missing_or_unknown_dataset_fails_with_message(tmp_path, capsys):
    assert main(["data", "stats", "beir/nfcorpus", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert (
        "dataset 'beir/nfcorpus' not found; looked in:" in err and str(tmp_path / "beir" / "nfcorpus") in err
    )
    assert main(["data", "stats", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("polyret: error: unknown dataset 'nope'; known:") and "Traceback" not in err


def test_list_shows_availability(scifact_root, capsys):
    assert main(["data", "list", "--data-dir", str(scifact_root), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["beir/scifact"]["available"] == str(scifact_root / "beir" / "scifact")
    assert rows["xquad-r"]["available"] is None and rows["xquad-r"]["downloadable"] is True
    assert rows["squad-translated/da"]["downloadable"] is False
    assert main(["data", "list", "--data-dir", str(scifact_root)]) == 0
    assert "beir/scifact" in capsys.readouterr().out


def test_download_offline_message(tmp_path, monkeypatch, capsys):
    def offline(url, timeout=None):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["data", "download", "beir/arguana", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert (
        "could not download https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/arguana.zip"
        in err
    )
    assert "no route to host" in err and "could not reach the network" in err


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["data", "--help"])
    out = capsys.readouterr().out
    assert "polyret data stats xquad-r" in out and "POLYRET_DATA_DIR" in out
