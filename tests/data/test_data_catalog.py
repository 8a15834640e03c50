from __future__ import annotations

import re
import urllib.request

import pytest

from polyret.data import catalog
from polyret.data.catalog import CATALOG, data_roots, dataset_path, resolve_data_root
from polyret.data.errors import DatasetNotFound
from polyret.data.languages import is_language


def _scifact(root):
    folder = root / "beir" / "scifact"
    (folder / "qrels").mkdir(parents=True)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "qrels/train.tsv"):
        (folder / name).write_text("")
    return folder


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """Separate env / cwd-relative / checkout-relative / cache roots."""
    env, work, cache = tmp_path / "env", tmp_path / "proj" / "work", tmp_path / "cache"
    work.mkdir(parents=True)
    checkout = tmp_path / "checkout" / "repo"
    checkout.mkdir(parents=True)
    monkeypatch.setenv("POLYRET_DATA_DIR", str(env))
    monkeypatch.setenv("POLYRET_CACHE_DIR", str(cache))
    monkeypatch.chdir(work)
    monkeypatch.setattr(catalog, "_project_checkout", lambda: checkout)
    return {
        "env": env,
        "cwd": tmp_path / "proj" / "shared" / "data",
        "checkout": tmp_path / "checkout" / "shared" / "data",
        "cache": cache / "data",
    }


def test_resolution_order(roots):
    assert data_roots() == [roots["env"], roots["cwd"], roots["checkout"], roots["cache"]]
    assert data_roots("/x/y") == [__import__("pathlib").Path("/x/y")]  # explicit: only that folder


@pytest.mark.parametrize("where", ["env", "cwd", "checkout", "cache"])
def test_dataset_found_in_each_root(roots, where):
    folder = _scifact(roots[where])
    assert dataset_path("beir/scifact") == folder


def test_earlier_root_wins_and_explicit_dir_is_exclusive(roots, tmp_path):
    _scifact(roots["checkout"])
    env_copy = _scifact(roots["env"])
    assert dataset_path("beir/scifact") == env_copy
    with pytest.raises(DatasetNotFound):
        dataset_path("beir/scifact", data_dir=tmp_path / "elsewhere")


def test_incomplete_folder_is_not_found_and_the_error_lists_every_place(roots):
    folder = _scifact(roots["cwd"])
    (folder / "qrels" / "train.tsv").unlink()
    with pytest.raises(DatasetNotFound) as e:
        dataset_path("beir/scifact")
    message = str(e.value)
    for key in ("env", "cwd", "checkout", "cache"):
        assert str(roots[key] / "beir" / "scifact") in message
    assert "polyret data download beir/scifact" in message and "--data-dir" in message


def test_resolve_data_root(roots, tmp_path):
    roots["checkout"].mkdir(parents=True)
    assert resolve_data_root() == roots["checkout"]  # env and cwd roots do not exist
    assert resolve_data_root(tmp_path) == tmp_path
    with pytest.raises(FileNotFoundError, match="not a folder"):
        resolve_data_root(tmp_path / "nope")


def test_unknown_name_lists_known_ones():
    with pytest.raises(KeyError, match="unknown dataset 'beir/nope'; known: .*beir/scifact"):
        dataset_path("beir/nope")


def test_catalog_entries_are_well_formed():
    expected = {
        "xquad-r",
        "mlqa-r",
        "xquad",
        "squad-dev",
        "squad-translated/es",
        "squad-translated/da",
        "squad-translated/it",
        "qa-mono/ar",
        "qa-mono/tr",
        "qa-mono/zh",
        "qa-mono/ko",
        "beir/nfcorpus",
        "beir/scifact",
        "beir/arguana",
        "miracl/en",
        "miracl/yo",
        "bright/pony",
        "squad-parallel",
    }
    assert expected <= set(CATALOG)
    for name, info in CATALOG.items():
        assert info.name == name and info.licence and info.languages
        assert all(is_language(lang) for lang in info.languages), name
        for source in info.sources:
            assert source.url.startswith("https://"), name
            if source.checksum is not None:
                assert re.fullmatch(r"sha256:[0-9a-f]{64}|md5:[0-9a-f]{32}", source.checksum), name
    assert len(CATALOG["xquad-r"].languages) == 11 and len(CATALOG["mlqa-r"].languages) == 7
    assert {s.target for s in CATALOG["xquad-r"].sources} == set(CATALOG["xquad-r"].files)


def test_loading_never_uses_the_network(roots, monkeypatch, make_beir):
    def no_network(*args, **kwargs):
        raise AssertionError("network used while loading")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    from polyret.data.beir import load_beir

    folder = make_beir({"d": ("", "x")}, {"q": "y"}, {"test": ["q\td\t1"]})
    assert load_beir(folder).qrels == {"q": {"d": 1}}
    with pytest.raises(DatasetNotFound):
        dataset_path("xquad-r")


def test_load_dataset_dispatches_by_kind(roots, make_beir, tmp_path):
    from polyret.data.beir import BeirData
    from polyret.data.load import load_dataset

    folder = make_beir({"d": ("", "x")}, {"q": "y"}, {"test": ["q\td\t1"], "train": ["q\td\t0"]})
    (roots["env"] / "beir").mkdir(parents=True)
    folder.rename(roots["env"] / "beir" / "scifact")
    data = load_dataset("beir/scifact", split="train")
    assert isinstance(data, BeirData) and data.qrels == {"q": {"d": 0}}
    with pytest.raises(TypeError, match="takes no options"):
        load_dataset("squad-dev", split="x")
