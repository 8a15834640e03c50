"""``polyret.atomic``: a failed or killed write never leaves a partial file under the final name, a full
disk names the final file, and stale ``.tmp-*`` leftovers are cleaned."""

from __future__ import annotations

import errno
import os
import time

import pytest

import polyret.atomic as atomic


def test_full_disk_names_the_final_file_and_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "out" / "results.json"
    atomic.write_json(target, {"old": True})

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(OSError) as error:
        atomic.write_json(target, {"new": True})
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(target)
    monkeypatch.undo()
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]
    assert target.read_text() == '{\n  "old": true\n}\n'  # the previous complete file is kept


def test_an_error_inside_the_block_leaves_no_file(tmp_path):
    target = tmp_path / "run.trec"
    with pytest.raises(ValueError, match="bad id"), atomic.atomic_write(target) as handle:
        handle.write("q1 Q0 d1 1 0.5 tag\n")
        raise ValueError("bad id")
    assert list(tmp_path.iterdir()) == []


def test_clean_stale_temporaries_removes_only_old_leftovers(tmp_path):
    old_file, old_dir, new_file = tmp_path / ".tmp-a.npy-x", tmp_path / ".tmp-cache-y", tmp_path / ".tmp-b-z"
    old_file.write_text("partial")
    old_dir.mkdir()
    (old_dir / "shard.npy").write_text("partial")
    new_file.write_text("in progress")
    (tmp_path / "kept.json").write_text("{}")
    hours_ago = time.time() - 2 * 3600
    for path in (old_file, old_dir):
        os.utime(path, (hours_ago, hours_ago))
    assert atomic.clean_stale_temporaries(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-b-z", "kept.json"]
