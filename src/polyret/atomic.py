"""Atomic output: every file polyret writes appears whole under its final name, or not at all.

Write to a hidden temporary sibling (``.tmp-<name>-<random>``), flush and fsync, then
``os.replace`` it onto the final name. A killed process leaves only a ``.tmp-*`` file behind, which
:func:`clean_stale_temporaries` removes later; readers never see a half-written file.

- :func:`atomic_write` (context manager over a text or binary file object)
- :func:`write_text`, :func:`write_bytes`, :func:`write_json` (one-call helpers)
- :func:`atomic_dir` (build a whole folder, then rename it into place)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Yield a file object whose content replaces ``path`` only when the block ends without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding,
                       newline=None if "b" in mode else "") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the umask mode
        tmp.replace(path)
        _fsync_dir(path.parent)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if error.errno in (errno.ENOSPC, errno.EDQUOT) and not error.filename:
            # name the final file (not the temporary) so the CLI can say what could not be written
            raise OSError(error.errno, os.strerror(error.errno), str(path)) from error
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_write(path, "w") as handle:
        handle.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_json(path: str | Path, obj: Any, indent: int | None = 2) -> Path:
    """Strict JSON (NaN/inf refused: clean them first), UTF-8, trailing newline."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False)
    return write_text(path, text + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``path`` (an older ``path`` is removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{path.name}-", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f"{TMP_PREFIX}{path.name}-old-{os.getpid()}")
            path.replace(old)
            tmp.replace(path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.replace(path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def clean_stale_temporaries(folder: str | Path, older_than_s: float = 3600.0) -> int:
    """Remove ``.tmp-*`` leftovers of killed writes directly under ``folder``; return how many.

    Only entries older than ``older_than_s`` go, so a write in progress elsewhere is left alone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now, removed = time.time(), 0
    for entry in folder.iterdir():
        if not entry.name.startswith(TMP_PREFIX):
            continue
        try:
            if now - entry.lstat().st_mtime < older_than_s:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError:
            continue
    return removed
