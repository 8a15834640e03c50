"""Fuzz the experiment-config reader (``polyret.config.load_config``).

A generated valid YAML config (a random subset of keys with valid values) gets one mutation: BOM,
CRLF, empty file, truncation after a line, invalid UTF-8, a mapping or null where a value belongs, an
unknown key or section, a scalar where a section belongs. The loaded config must equal the defaults
overlaid with exactly the keys that were written, or loading must stop with a ``ConfigError`` naming
the file (and the key, where one is at fault).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import types
import typing
from pathlib import Path

import pytest
import recorder
import yaml
from fuzzing import BOM, Expect, judge
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from polyret.config import SECTIONS, ExperimentConfig, load_config
from polyret.errors import ConfigError

EXAMPLES = int(os.environ.get("POLYRET_FUZZ_EXAMPLES", "60"))  # per mutation: 10 x 60 = 600 cases
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# valid values for a few keys (ranges the config accepts)
VALID = {
    "model": {"max_query_length": st.integers(1, 512), "tiny_seed": st.integers(0, 99),
              "tiny_dropout": st.floats(0, 0.9), "freeze_token_embeddings": st.booleans()},
    "data": {"languages": st.lists(st.sampled_from(["en", "es", "de"]), min_size=1, max_size=3, unique=True),
             "val_fraction": st.floats(0, 0.5), "split_seed": st.integers(0, 99),
             "data_dir": st.none() | st.just("some/dir")},
    "sampling": {"strategy": st.sampled_from(["mono", "cross", "mixed"]), "batch_size": st.integers(2, 64),
                 "seed": st.integers(0, 99), "distinct_passages": st.booleans()},
    "train": {"lr": st.floats(1e-6, 1e-2), "max_steps": st.integers(1, 1000), "seed": st.integers(0, 99),
              "warmup_steps": st.integers(0, 10), "precision": st.sampled_from(["auto", "fp32", "bf16"]),
              "symmetric": st.booleans()},
}


def _optional(section: str, key: str) -> bool:
    hint = typing.get_type_hints(SECTIONS[section])[key]
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


MUTATIONS = ["valid", "bom", "crlf", "empty", "truncate", "invalid_utf8", "wrong_value", "unknown_key",
             "unknown_section", "scalar_section"]


@st.composite
def config_cases(draw, mutation: str):
    raw = {}
    for section, keys in VALID.items():
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=len(keys)))
        if chosen or draw(st.booleans()):
            raw[section] = {k: draw(keys[k]) for k in sorted(chosen)}
    filled = [(s, k) for s, values in raw.items() for k in values]
    expect_raw = raw
    expect: Expect | None = None
    if mutation == "wrong_value":
        assume(filled)
        section, key = draw(st.sampled_from(filled))
        value = draw(st.sampled_from([{"k": "v"}, None]))
        raw = {**raw, section: {**raw[section], key: value}}
        if not (value is None and _optional(section, key)):
            expect = Expect(mention=f"{section}.{key}")
        expect_raw = raw
    elif mutation == "unknown_key":
        section = draw(st.sampled_from(sorted(SECTIONS)))
        raw = {**raw, section: {**raw.get(section, {}), "no_such_key": 1}}
        expect = Expect(mention=f"{section}.no_such_key")
    elif mutation == "unknown_section":
        raw = {**raw, "trainer": {"lr": 0.1}}
        expect = Expect(mention="trainer")
    elif mutation == "scalar_section":
        section = draw(st.sampled_from(sorted(SECTIONS)))
        raw = {**raw, section: draw(st.sampled_from([3, "x", [1]]))}
        expect = Expect(mention=f"'{section}' must be a section")
    text = yaml.safe_dump(raw, sort_keys=False) if raw else "{}\n"
    data = text.encode("utf-8")
    if mutation == "bom":
        data = BOM + data
    elif mutation == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif mutation == "empty":
        data, expect = draw(st.sampled_from([b"", b"\n", b"# nothing\n"])), Expect(mention="empty")
    elif mutation == "truncate":
        lines = text.splitlines(keepends=True)
        keep = draw(st.integers(0, len(lines) - 1)) if len(lines) > 1 else 0
        data = "".join(lines[:keep]).encode("utf-8")
        expect_raw = yaml.safe_load(data) if data.strip() else None
        if expect_raw is None:
            expect = Expect(mention="empty")
    elif mutation == "invalid_utf8":
        at = draw(st.integers(0, len(data)))
        data, expect = data[:at] + b"\xff" + data[at:], Expect()
    return mutation, data, expect or Expect(keys=frozenset(_flatten(expect_raw)))


def _flatten(raw: dict) -> dict:
    """Defaults overlaid with ``raw``, as ``section.key=value`` items (the oracle's expected config)."""
    full = ExperimentConfig().to_dict()
    for section, values in (raw or {}).items():
        full[section].update(values or {})
    return {f"{s}.{k}={v!r}" for s, values in full.items() for k, v in values.items()}


def _load(path: Path) -> set:
    config = load_config(path)
    return {f"{s}.{k}={v!r}" for s, values in config.to_dict().items() for k, v in values.items()}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_config_reader_fuzz(mutation):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.yaml"

        @FUZZ
        @given(case=config_cases(mutation))
        def check(case):
            mutation, data, expect = case
            path.write_bytes(data)
            outcome, detail = judge(_load, path, expect, (ConfigError,))
            recorder.record("config .yaml", f"config .yaml: {mutation.replace('_', ' ')}", outcome)
            assert outcome not in recorder.BAD_OUTCOMES, f"{mutation}: {outcome}: {detail}\n{data!r}"

        check()


def test_config_fields_cover_the_dataclasses():
    """The fuzzed keys exist (a renamed key would make the generator test nothing)."""
    for section, keys in VALID.items():
        names = {f.name for f in dataclasses.fields(SECTIONS[section])}
        assert set(keys) <= names, set(keys) - names
