"""``polyret data download NAME``: fetch a catalog dataset with urllib, verify, install atomically.

Only this module touches the network, and only when called. Each file is streamed to a temporary
file beside its destination while hashing; a known checksum must match (``DownloadError``
otherwise); then the file is moved into place with ``os.replace``. Zip archives are extracted
into a temporary folder (members escaping it are refused) and moved into place the same way, so
an interrupted download never leaves a half-written dataset.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

from polyret.atomic import TMP_PREFIX, clean_stale_temporaries
from polyret.data.catalog import DATA_ENV, get_info
from polyret.data.errors import DownloadError
from polyret.data.info import Source
from polyret.paths import cache_dir

log = logging.getLogger(__name__)

Opener = Callable[..., object]  # urlopen-like: opener(url, timeout=...) -> readable response
CHUNK = 1 << 20


def download_root(data_dir: str | Path | None = None) -> Path:
    """Where downloads go: ``data_dir``, else ``$POLYRET_DATA_DIR``, else the user cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    return cache_dir("data")


def _digest(checksum: str) -> tuple[str, str]:
    algo, _, hexdigest = checksum.partition(":")
    if algo not in ("sha256", "md5") or not hexdigest:
        raise ValueError(f"bad checksum spec {checksum!r} (want 'sha256:<hex>' or 'md5:<hex>')")
    return algo, hexdigest.lower()


def file_checksum(path: Path, algo: str = "sha256") -> str:
    h = hashlib.new(algo)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(source: Source, tmp: Path, opener: Opener, timeout: float, offline_hint: str = "") -> None:
    algo = _digest(source.checksum)[0] if source.checksum else "sha256"
    h = hashlib.new(algo)
    try:
        response = opener(source.url, timeout=timeout)
        with response, tmp.open("wb") as out:  # type: ignore[attr-defined]
            for block in iter(lambda: response.read(CHUNK), b""):  # type: ignore[attr-defined]
                h.update(block)
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"could not download {source.url}: {reason}{offline_hint}") from e
    got = h.hexdigest()
    if source.checksum:
        want = _digest(source.checksum)[1]
        if got != want:
            raise DownloadError(f"checksum mismatch for {source.url}: {algo} {got}, expected {want}")
    else:
        log.warning("no checksum is published for %s; downloaded file has sha256 %s", source.url, got)


def _safe_extract(archive: Path, dest: Path, strip: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            if member.is_dir():
                continue
            name = member.filename
            if strip and not name.startswith(strip):
                continue
            rel = Path(name[len(strip) :])
            if rel.is_absolute() or ".." in rel.parts:
                raise DownloadError(f"{archive}: refusing member {name!r} outside the dataset folder")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, target.open("wb") as out:
                shutil.copyfileobj(src, out)


def _install_tree(staged: Path, folder: Path) -> None:
    """Move every file under ``staged`` to the same place under ``folder`` (os.replace each)."""
    for path in sorted(p for p in staged.rglob("*") if p.is_file()):
        target = folder / path.relative_to(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)


def _present(info, root: Path) -> bool:
    return info.find_files(root / info.path) is not None


def download(
    name: str,
    data_dir: str | Path | None = None,
    *,
    force: bool = False,
    opener: Opener | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``name`` (and, for ``squad-parallel``, its parts); return the dataset folder.

    Files already present are kept unless ``force``. Raises :class:`DownloadError` with the
    failing URL and what to do when offline.
    """
    info = get_info(name)
    root = download_root(data_dir)
    if info.parts:
        manual = [p for p in info.parts if not get_info(p).sources and not _present(get_info(p), root)]
        if manual:  # fail before fetching anything
            raise DownloadError(
                f"{name} needs {', '.join(manual)}, which polyret cannot download (no public location "
                f"recorded); put their files under {root} first."
            )
        for part in info.parts:
            download(part, root, force=force, opener=opener, timeout=timeout)
        return root
    folder = root / info.path
    if not info.sources:
        raise DownloadError(
            f"no public download location is recorded for {name!r}; put its files under {folder} by hand. "
            f"{info.notes}".strip()
        )
    opener = opener or urllib.request.urlopen
    hint = (
        f"\npolyret could not reach the network. To use {name!r} offline, copy its files to {folder} "
        f"(or point --data-dir / ${DATA_ENV} at a folder that has them)."
    )
    root.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(root)  # leftovers of a killed download (``.tmp-download-*``)
    for source in info.sources:
        dest = folder / source.target
        if source.archive is None and dest.is_file() and not force:
            log.info("%s present, skipping", dest)
            continue
        if source.archive is not None and info.find_files(folder) is not None and not force:
            log.info("%s present, skipping", folder)
            continue
        with tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}download-", dir=root) as tmpdir:
            tmp = Path(tmpdir) / "download"
            _fetch(source, tmp, opener, timeout, hint)
            if source.archive == "zip":
                staged = Path(tmpdir) / "staged"
                try:
                    _safe_extract(tmp, staged, source.strip)
                except zipfile.BadZipFile as e:
                    raise DownloadError(f"{source.url} is not a valid zip archive: {e}") from e
                _install_tree(staged, folder)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp.replace(dest)
    if info.find_files(folder) is None:
        raise DownloadError(f"downloaded {name!r} but {folder} still lacks some of its files: {info.files}")
    return folder
