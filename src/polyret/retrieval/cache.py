"""On-disk embedding cache keyed by (model fingerprint, side, sha256 of the text).

Layout: ``<root>/<fingerprint>/<side>/shard-*.npz``; each shard holds ``keys`` (n, 32) uint8 sha256
digests, ``emb`` (n, D) float32 and ``check`` (32,) uint8: the sha256 of (fingerprint, side, keys, emb),
so a shard edited after writing, or copied from another model's or side's folder, is detected even
when every value is finite and of the right width. Shards are written atomically (:mod:`polyret.atomic`),
so readers never see half a shard. A shard that cannot be read (truncated, bad zip CRC, wrong shapes),
holds NaN / inf, has another width than the model's embeddings or fails its checksum triggers a
:class:`CacheCorruptionWarning`, is deleted, and its texts are re-encoded. A cache that cannot be
written (full disk, read-only folder) gives one :class:`CacheWriteWarning`; the run carries on
without storing. Opening a cache removes stale ``.tmp-*`` leftovers of killed writes (older than an
hour) from its folders.

Callers use :func:`polyret.retrieval.cached.encode_cached`, which builds the key (model fingerprint,
precision used, the side's max length) and fills the cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np

from polyret.atomic import TMP_PREFIX, atomic_write, clean_stale_temporaries
from polyret.paths import cache_dir

log = logging.getLogger(__name__)
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)
MAX_SHARD_ROWS = 100_000


class CacheCorruptionWarning(UserWarning):
    """A cache file could not be read; it was removed and its entries will be recomputed."""


class CacheWriteWarning(UserWarning):
    """The cache could not be written (e.g. a full disk); the run carries on without it."""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def shard_checksum(fingerprint: str, side: str, keys: np.ndarray, emb: np.ndarray) -> np.ndarray:
    """(32,) uint8 sha256 over the shard's identity and contents (keys (n, 32) uint8, emb (n, D) float32)."""
    h = hashlib.sha256(f"{fingerprint}\0{side}\0{emb.shape}\0".encode())
    h.update(np.ascontiguousarray(keys).tobytes())
    h.update(np.ascontiguousarray(emb, dtype="<f4").tobytes())
    return np.frombuffer(h.digest(), dtype=np.uint8)


def _clean_leftovers(root: Path) -> int:
    """Remove stale ``.tmp-*`` files of killed writes from ``root`` and its shard folders
    (``<root>/<fingerprint>/<side>``); return how many. Unreadable folders are left alone."""
    removed = clean_stale_temporaries(root)
    with contextlib.suppress(OSError):
        for model in (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(TMP_PREFIX)):
            removed += clean_stale_temporaries(model)
            for side in ("query", "passage"):
                removed += clean_stale_temporaries(model / side)
    if removed:
        log.info("removed %d stale temporary file(s) from the embedding cache %s", removed, root)
    return removed


class EmbeddingCache:
    """Embeddings of texts per model fingerprint and side, persisted as float32 shards."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else cache_dir("embeddings")
        self._keys: dict[Path, tuple[tuple[int, int], np.ndarray]] = {}  # shard -> (stat, keys)
        self.writable = True  # False after a failed write: no further attempts, one warning
        self.removed_leftovers = _clean_leftovers(self.root)

    def _dir(self, fingerprint: str, side: str) -> Path:
        if not fingerprint or "/" in fingerprint or fingerprint.startswith(".") or side not in (
                "query", "passage"):
            raise ValueError(f"bad cache key ({fingerprint!r}, {side!r})")
        return self.root / fingerprint / side

    def _corrupt(self, shard: Path, err: Exception) -> None:
        warnings.warn(f"embedding cache file {shard} is unreadable ({type(err).__name__}: {err}); "
                      "removing it, its texts will be re-encoded", CacheCorruptionWarning, stacklevel=3)
        log.warning("removed damaged embedding cache file %s (%s)", shard, err)
        self._keys.pop(shard, None)
        shard.unlink(missing_ok=True)

    def _shard_keys(self, shard: Path) -> np.ndarray | None:
        st = shard.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        cached = self._keys.get(shard)
        if cached and cached[0] == stamp:
            return cached[1]
        try:
            with np.load(shard) as z:
                keys = z["keys"]
            if keys.ndim != 2 or keys.shape[1] != 32 or keys.dtype != np.uint8:
                raise ValueError(f"keys have shape {keys.shape} / dtype {keys.dtype}")
        except _READ_ERRORS as err:
            self._corrupt(shard, err)
            return None
        self._keys[shard] = (stamp, keys)
        return keys

    def lookup(self, fingerprint: str, side: str, texts: list[str],
               dim: int | None = None) -> tuple[dict[int, np.ndarray], list[int]]:
        """Cached rows for ``texts``: ({text index: (D,) embedding}, [indices not cached]).

        A shard whose rows are not ``dim`` wide (when given) or not finite is removed with a warning."""
        folder = self._dir(fingerprint, side)
        wanted: dict[bytes, list[int]] = {}
        for i, t in enumerate(texts):
            wanted.setdefault(text_key(t), []).append(i)
        found: dict[int, np.ndarray] = {}
        shards = sorted(folder.glob("shard-*.npz")) if folder.is_dir() else []
        for shard in shards:
            if not wanted:
                break
            keys = self._shard_keys(shard)
            if keys is None:
                continue
            rows = [(r, k) for r, k in enumerate(map(bytes, keys)) if k in wanted]
            if not rows:
                continue
            try:
                with np.load(shard) as z:
                    emb = z["emb"]
                    check = z["check"] if "check" in z.files else None
                if emb.dtype != np.float32 or emb.ndim != 2 or emb.shape[0] != keys.shape[0]:
                    raise ValueError(f"embeddings have shape {emb.shape} / dtype {emb.dtype}")
                if dim is not None and emb.shape[1] != dim:
                    raise ValueError(f"embeddings are {emb.shape[1]} wide, the model's are {dim}")
                if not np.isfinite(emb).all():
                    raise ValueError("embeddings contain NaN or infinite values")
                if check is None:
                    raise ValueError("no checksum (written by an older polyret)")
                if not np.array_equal(check, shard_checksum(fingerprint, side, keys, emb)):
                    raise ValueError("its checksum does not match its contents (edited, or another model's)")
            except _READ_ERRORS as err:
                self._corrupt(shard, err)
                continue
            for r, k in rows:
                for i in wanted.pop(k, ()):
                    found[i] = emb[r]
        missing = sorted(i for idx in wanted.values() for i in idx)
        return found, missing

    def add(self, fingerprint: str, side: str, texts: list[str], embeddings: np.ndarray) -> bool:
        """Store (N, D) ``embeddings`` of ``texts`` (atomically, in shards of <= 100k rows).

        Returns False (after one :class:`CacheWriteWarning` per cache object) when the cache cannot
        be written; nothing is raised, the caller carries on without the cache."""
        if len(texts) != len(embeddings):
            raise ValueError(f"{len(texts)} texts but {len(embeddings)} embeddings")
        if not self.writable:
            return False
        uniq: dict[bytes, int] = {}
        for i, t in enumerate(texts):
            uniq.setdefault(text_key(t), i)
        if not uniq:
            return True
        folder = self._dir(fingerprint, side)
        keys = np.frombuffer(b"".join(uniq), dtype=np.uint8).reshape(-1, 32)
        emb = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32)[list(uniq.values())])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for start in range(0, len(keys), MAX_SHARD_ROWS):
                end = start + MAX_SHARD_ROWS
                name = folder / f"shard-{os.getpid()}-{os.urandom(6).hex()}.npz"
                with atomic_write(name, "wb") as f:
                    np.savez(f, keys=keys[start:end], emb=emb[start:end],
                             check=shard_checksum(fingerprint, side, keys[start:end], emb[start:end]))
        except OSError as err:
            self.writable = False
            warnings.warn(f"embedding cache {self.root} cannot be written ({err.strerror or err}); "
                          "carrying on without storing embeddings", CacheWriteWarning, stacklevel=2)
            return False
        return True

    def clear(self, fingerprint: str | None = None) -> None:
        """Delete one model's cached embeddings (or everything)."""
        target = self.root / fingerprint if fingerprint else self.root
        shutil.rmtree(target, ignore_errors=True)
        self._keys.clear()
