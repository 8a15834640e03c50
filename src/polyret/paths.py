"""Where polyret keeps caches (models converted from bundled files, embeddings)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "POLYRET_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder under the user cache.

    ``$POLYRET_CACHE_DIR`` wins, then ``$XDG_CACHE_HOME/polyret``, then ``~/.cache/polyret``.
    """
    root = os.environ.get(CACHE_ENV)
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "polyret"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
