"""On-disk embedding cache keyed by (model fingerprint, side, sha256 of the text).

Layout: ``<root>/<fingerprint>/<side>/shard-*.npz``; each shard holds ``keys`` (n, 32) uint8 sha256
digests and ``emb`` (n, D) float32. Shards are written to a temporary file and renamed into place,
so readers never see half a shard. A shard that cannot be read (truncated, bad zip CRC, wrong
shapes) triggers a :class:`CacheCorruptionWarning`, is deleted, and its texts are re-encoded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from polyret.paths import cache_dir

log = logging.getLogger(__name__)
_READ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)
MAX_SHARD_ROWS = 100_000


class CacheCorruptionWarning(UserWarning):
    """A cache file could not be read; it was removed and its entries will be recomputed."""


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Embeddings of texts per model fingerprint and side, persisted as float32 shards."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root else cache_dir("embeddings")
        self._keys: dict[Path, tuple[tuple[int, int], np.ndarray]] = {}  # shard -> (stat, keys)

    def _dir(self, fingerprint: str, side: str) -> Path:
        if not fingerprint or "/" in fingerprint or side not in ("query", "passage"):
            raise ValueError(f"bad cache key ({fingerprint!r}, {side!r})")
        return self.root / fingerprint / side

    def _corrupt(self, shard: Path, err: Exception) -> None:
        warnings.warn(f"embedding cache file {shard} is unreadable ({type(err).__name__}: {err}); "
                      "removing it, its texts will be re-encoded", CacheCorruptionWarning, stacklevel=3)
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

    def lookup(self, fingerprint: str, side: str,
               texts: list[str]) -> tuple[dict[int, np.ndarray], list[int]]:
        """Cached rows for ``texts``: ({text index: (D,) embedding}, [indices not cached])."""
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
                if emb.dtype != np.float32 or emb.ndim != 2 or emb.shape[0] != keys.shape[0]:
                    raise ValueError(f"embeddings have shape {emb.shape} / dtype {emb.dtype}")
            except _READ_ERRORS as err:
                self._corrupt(shard, err)
                continue
            for r, k in rows:
                for i in wanted.pop(k, ()):
                    found[i] = emb[r]
        missing = sorted(i for idx in wanted.values() for i in idx)
        return found, missing

    def add(self, fingerprint: str, side: str, texts: list[str], embeddings: np.ndarray) -> None:
        """Store (N, D) ``embeddings`` of ``texts`` (atomically, in shards of <= 100k rows)."""
        if len(texts) != len(embeddings):
            raise ValueError(f"{len(texts)} texts but {len(embeddings)} embeddings")
        uniq: dict[bytes, int] = {}
        for i, t in enumerate(texts):
            uniq.setdefault(text_key(t), i)
        if not uniq:
            return
        folder = self._dir(fingerprint, side)
        folder.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(uniq), dtype=np.uint8).reshape(-1, 32)
        emb = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32)[list(uniq.values())])
        for start in range(0, len(keys), MAX_SHARD_ROWS):
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
            try:
                with os.fdopen(fd, "wb") as f:
                    end = start + MAX_SHARD_ROWS
                    np.savez(f, keys=keys[start:end], emb=emb[start:end])
                Path(tmp).replace(folder / f"shard-{os.getpid()}-{os.urandom(6).hex()}.npz")
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise

    def clear(self, fingerprint: str | None = None) -> None:
        """Delete one model's cached embeddings (or everything)."""
        target = self.root / fingerprint if fingerprint else self.root
        shutil.rmtree(target, ignore_errors=True)
        self._keys.clear()
