"""Shared fixtures: the real data folder beside the checkout and a tiny offline BERT."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("POLYRET_SHARED_DATA", ROOT.parent / "shared" / "data"))

TINY_WORDS = (
    "query passage what who where when is the a of in and capital city river france paris "
    "germany berlin spain madrid water blue sky green tree house cat dog run fast slow"
).split()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: required in CI, skipped elsewhere when absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the real data at {SHARED_DATA}")
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep caches out of the user's home unless the caller chose a cache folder."""
    if "POLYRET_CACHE_DIR" not in os.environ:
        os.environ["POLYRET_CACHE_DIR"] = str(tmp_path_factory.mktemp("polyret-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def tiny_model():
    """A fresh 2-layer BERT bi-encoder (hidden 32) with a word-level vocabulary."""
    from polyret.modeling.tiny import tiny_bi_encoder

    return tiny_bi_encoder(TINY_WORDS, seed=0)
