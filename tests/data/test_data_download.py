from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile

import pytest

from polyret.data.catalog import CATALOG, dataset_path
from polyret.data.download import download
from polyret.data.errors import DownloadError
from polyret.data.info import DatasetInfo, Source


class Served:
    """A urlopen stand-in serving fixed bytes per URL and recording calls."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.calls = files, []

    def __call__(self, url, timeout=None):
        self.calls.append(url)
        if url not in self.files:
            raise urllib.error.URLError("[Errno -2] Name or service not known")
        return io.BytesIO(self.files[url])


def _entry(monkeypatch, name, sources, files):
    info = DatasetInfo(name, "squad", name, tuple(files), ("en",), "test", "test entry", tuple(sources))
    monkeypatch.setitem(CATALOG, name, info)
    return info


def test_offline_error_names_url_and_what_to_do(tmp_path):
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    with pytest.raises(DownloadError) as e:
        download("xquad-r", tmp_path, opener=offline)
    message = str(e.value)
    assert "could not download https://raw.githubusercontent.com/google-research-datasets/lareqa/" in message
    assert "Temporary failure in name resolution" in message
    assert "could not reach the network" in message and str(tmp_path / "xquad-r") in message
    assert not (tmp_path / "xquad-r").exists() and list(tmp_path.iterdir()) == []  # nothing half-written


def test_verified_file_is_installed_and_kept_on_rerun(tmp_path, monkeypatch):
    body = b'{"data": []}'
    sha = hashlib.sha256(body).hexdigest()
    _entry(
        monkeypatch, "t/one", [Source("https://example.org/a.json", "a.json", f"sha256:{sha}")], ["a.json"]
    )
    served = Served({"https://example.org/a.json": body})
    folder = download("t/one", tmp_path, opener=served)
    assert (folder / "a.json").read_bytes() == body and folder == tmp_path / "t/one"
    assert dataset_path("t/one", tmp_path) == folder
    download("t/one", tmp_path, opener=served)
    assert len(served.calls) == 1  # present: not fetched again
    download("t/one", tmp_path, opener=served, force=True)
    assert len(served.calls) == 2


def test_checksum_mismatch_installs_nothing(tmp_path, monkeypatch):
    _entry(
        monkeypatch, "t/bad", [Source("https://example.org/a.json", "a.json", "md5:" + "0" * 32)], ["a.json"]
    )
    with pytest.raises(
        DownloadError, match=r"checksum mismatch for https://example.org/a.json: md5 [0-9a-f]{32}"
    ):
        download("t/bad", tmp_path, opener=Served({"https://example.org/a.json": b"x"}))
    assert not (tmp_path / "t/bad" / "a.json").exists()
    assert not any(p.name.startswith(".polyret-download-") for p in tmp_path.iterdir())


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_is_extracted_with_prefix_stripped(tmp_path, monkeypatch):
    body = _zip({"tiny/corpus.jsonl": b"c", "tiny/qrels/test.tsv": b"q", "other/ignored.txt": b"i"})
    md5 = hashlib.md5(body).hexdigest()
    src = Source("https://example.org/tiny.zip", ".", f"md5:{md5}", archive="zip", strip="tiny/")
    _entry(monkeypatch, "t/zip", [src], ["corpus.jsonl", "qrels/test.tsv"])
    folder = download("t/zip", tmp_path, opener=Served({src.url: body}))
    assert (folder / "qrels" / "test.tsv").read_bytes() == b"q"
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["corpus.jsonl", "test.tsv"]


def test_zip_member_escaping_the_folder_is_refused(tmp_path, monkeypatch):
    body = _zip({"tiny/corpus.jsonl": b"c", "tiny/../../evil.txt": b"x"})
    src = Source("https://example.org/evil.zip", ".", None, archive="zip", strip="tiny/")
    _entry(monkeypatch, "t/evil", [src], ["corpus.jsonl"])
    with pytest.raises(DownloadError, match="refusing member"):
        download("t/evil", tmp_path, opener=Served({src.url: body}))
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert not (tmp_path / "t/evil" / "corpus.jsonl").exists()


def test_dataset_without_download_location(tmp_path):
    with pytest.raises(
        DownloadError, match="no public download location is recorded for 'squad-translated/da'"
    ):
        download("squad-translated/da", tmp_path, opener=Served({}))


def test_derived_set_fails_before_fetching_when_a_part_cannot_be_downloaded(tmp_path):
    served = Served({})
    with pytest.raises(DownloadError, match="squad-parallel needs squad-translated/da, which polyret cannot"):
        download("squad-parallel", tmp_path, opener=served)
    assert served.calls == []


def test_leftovers_of_a_killed_download_are_cleaned(tmp_path, monkeypatch):
    """A killed download leaves a ``.tmp-download-*`` folder; the next download removes stale ones."""
    import os
    import time

    stale, fresh = tmp_path / ".tmp-download-old", tmp_path / ".tmp-download-new"
    for folder in (stale, fresh):
        (folder / "download").mkdir(parents=True)
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    body = b'{"data": []}'
    _entry(monkeypatch, "t/two", [Source("https://example.org/b.json", "b.json")], ["b.json"])
    download("t/two", tmp_path, opener=Served({"https://example.org/b.json": body}))
    assert not stale.exists() and fresh.exists()  # a write in progress elsewhere is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-download-new", "t"]
