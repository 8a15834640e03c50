"""Fuzz the files of experiment folders and training runs (issue 21): ``cell.json``, ``manifest.json``,
pre-registrations, ``train_summary.json`` and ``results/*.json.gz``, each through the function that
reads it in a run. Damaged records the runner can recompute (a cell's record, the manifest, a summary,
a result) must be set aside and recomputed; a damaged pre-registration must be one line naming it."""

from __future__ import annotations

import copy
import dataclasses
import gzip
import json
import os
import tempfile
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pytest
from docfuzz import MUTATIONS, RECOMPUTE, DocFormat, doc_cases, run_doc_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyret.config import ExperimentConfig
from polyret.experiment.spec import spec_from_dict
from polyret.runner import execute
from polyret.runner.cells import plan_cells

# cases per (file, mutation): 5 files x 10 mutations x 150 -> about 7,350 cases
EXAMPLES = int(os.environ.get("POLYRET_FUZZ_EXAMPLES_DOCS", "150"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
ROOT = Path(__file__).resolve().parents[2]
SPEC = spec_from_dict({
    "name": "fuzz", "base_model": "tiny", "seeds": [1], "references": ["bm25"],
    "arms": {"cross": {"strategy": "cross"}},
    "evaluation": {"suites": [{"task": "beir/scifact", "max_queries": 4}]},
    "preregistration": {"file": "prereg.json", "subsets": ["long"]},
}, "fuzz.yaml")
CELL = next(c for c in plan_cells(SPEC) if c.kind == "trained")
SUITE = CELL.suites(SPEC)[0]
KEY = execute.suite_key(SUITE, SPEC.precision)
words = st.text("abcdefghij-_0123456789", min_size=1, max_size=10)
finite = st.floats(-1e6, 1e6, allow_nan=False)


# ------------------------------------------------------------------ cell.json (runner: set aside, recomputed)
cells = st.fixed_dictionaries({
    "cell_id": st.just(CELL.cell_id), "arm": st.just(CELL.arm), "kind": st.just("trained"),
    "seed": st.just(1), "strategy": st.just("cross"), "alpha": st.none(),
    "status": st.sampled_from(["pending", "trained", "done"]),
    "config": st.dictionaries(words, st.dictionaries(words, finite, max_size=2), max_size=2),
    "train_summary": st.none() | st.dictionaries(words, finite, max_size=3),
    "timings": st.dictionaries(words, finite, max_size=3),
    "machine": st.dictionaries(words, words, max_size=2), "code": st.dictionaries(words, words, max_size=2),
})


def read_cell(path: Path):
    layout = execute.ExperimentLayout(path.parents[2])
    record = execute._load_or_new_record(layout, SPEC, CELL, execute.RunOptions())
    aside = list(path.parent.glob("cell.json.damaged-*"))
    if aside:
        assert json.loads(path.read_text())["status"] == "pending"  # a fresh record took its place
        return RECOMPUTE
    return record


CELL_FMT = DocFormat("experiment cell.json", f"cells/{CELL.cell_id}/cell.json", cells, read_cell,
                     lambda doc, rec: rec.to_dict() == {**doc, "reused_from": None, "weights": None},
                     required=("cell_id", "arm", "kind"),
                     typed={"cell_id": "str", "arm": "str", "status": "str", "timings": "dict",
                            "config": "dict", "seed": "int", "kind": "str"},
                     recomputes=True)


# ------------------------------------------------------------------ manifest.json (runner: rewritten)
manifests = st.fixed_dictionaries({
    "experiment": st.just("fuzz"), "created": st.just("2026-01-01T00:00:00+00:00"),
    "data_fingerprints": st.dictionaries(words, st.dictionaries(words, words, max_size=2), max_size=3),
    "cells": st.dictionaries(words, st.fixed_dictionaries(
        {"arm": words, "seed": st.none() | st.integers(0, 9), "status": words}), max_size=3),
})


def read_manifest(path: Path):
    layout = execute.ExperimentLayout(path.parent)
    with ExitStack() as stack:  # provenance lookups (git, pip) are not what is tested here
        for name, value in (("code_commit", lambda: {}), ("versions", lambda: {}), ("_machine", lambda: {})):
            stack.enter_context(mock.patch.object(execute, name, value))
        execute.update_manifest(layout, SPEC, execute.RunOptions())
    new = json.loads(path.read_text())
    if new["created"] != "2026-01-01T00:00:00+00:00":
        return RECOMPUTE  # the damaged manifest was rebuilt from the cells
    return new


MANIFEST_FMT = DocFormat("experiment manifest.json", "manifest.json", manifests, read_manifest,
                         lambda doc, new: new["data_fingerprints"] == doc["data_fingerprints"],
                         required=("experiment",), typed={"experiment": "str", "cells": "dict",
                                                          "data_fingerprints": "dict", "created": "str"},
                         recomputes=True)


# ------------------------------------------------------------------ pre-registration (one-line error)
qids = st.lists(words, max_size=5, unique=True)
preregs = st.fixed_dictionaries({
    "prereg_version": st.just(1), "experiment": st.just("fuzz"), "subsets": st.just(["long"]),
    "comparisons": st.just([]),
    "tasks": st.fixed_dictionaries({"beir/scifact": st.fixed_dictionaries({
        "subsets": st.fixed_dictionaries({"long": st.fixed_dictionaries({"query_ids": qids})})})}),
})


def read_prereg(path: Path):
    from polyret.runner import prereg

    prereg_spec = dataclasses.replace(SPEC.preregistration, file=str(path))
    spec = dataclasses.replace(SPEC, preregistration=prereg_spec)
    with mock.patch.object(prereg, "commit_fixing", lambda p: None):
        return prereg.load_preregistration(spec)


PREREG_FMT = DocFormat("pre-registration .json", "prereg.json", preregs, read_prereg,
                       lambda doc, got: got["tasks"] == doc["tasks"],
                       required=("prereg_version", "experiment"),
                       typed={"prereg_version": "int", "experiment": "str", "tasks": "dict",
                              "subsets": "list"})


# ------------------------------------------------------------------ train_summary.json (trained again)
summaries = st.fixed_dictionaries({
    "status": st.just("finished"), "steps": st.integers(0, 50), "best_step": st.integers(-1, 50),
    "best_val_loss": st.none() | st.floats(0, 10), "seconds": finite,
})
CFG = ExperimentConfig.from_dict({"train": {"max_steps": 50}})


def read_summary(path: Path):
    from polyret.training.resume import finished_result

    result = finished_result(CFG, path.parent)
    if result is None:
        assert not path.exists()  # set aside: the run trains again
        return RECOMPUTE
    return result


SUMMARY_FMT = DocFormat("training train_summary.json", "train_summary.json", summaries, read_summary,
                        lambda doc, res: res.steps == doc["steps"] and res.best_step == doc["best_step"],
                        required=("status", "steps"),
                        typed={"status": "str", "steps": "int", "best_step": "int"},
                        recomputes=True)


# ------------------------------------------------------------------ results/*.json.gz (evaluated again)
TEMPLATE = json.loads(gzip.decompress((ROOT / "docs/results/alpha-sweep/cells/zero-shot-b498df61/results/"
                                              "beir-scifact.json.gz").read_bytes()))


@st.composite
def results(draw):
    doc = copy.deepcopy(TEMPLATE)
    ids = draw(st.lists(words, min_size=1, max_size=6, unique=True))
    doc["per_query"] = {"all": {"nDCG@10": {q: draw(st.floats(0, 1)) for q in ids}}}
    doc["experiment"] = {"cell_id": CELL.cell_id, "arm": CELL.arm, "seed": 1, "suite_key": KEY}
    return doc


def read_result_file(path: Path):
    layout = execute.ExperimentLayout(path.parents[3])
    has = execute._has_result(layout, CELL.cell_id, SUITE, SPEC.precision)
    readable = execute.readable_results(layout, CELL.cell_id)
    return (readable.get(SUITE.slug), has) if has else RECOMPUTE


RESULT_FMT = DocFormat("experiment results/*.json.gz", f"cells/{CELL.cell_id}/results/{SUITE.slug}.json.gz",
                       results(), read_result_file,
                       lambda doc, got: got[1] and got[0].experiment["suite_key"] == KEY,
                       required=("experiment",), typed={"experiment": "dict"}, recomputes=True, gzip=True)

FORMATS = [CELL_FMT, MANIFEST_FMT, PREREG_FMT, SUMMARY_FMT, RESULT_FMT]


@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_fuzz_experiment_file(fmt, mutation):
    if fmt is RESULT_FMT and mutation == "bom":
        pytest.skip("polyret never writes a BOM into a gzip result; recomputing one is also correct")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        @FUZZ
        @given(case=doc_cases(fmt, mutation))
        def check(case):
            doc, data, damaged = case
            run_doc_case(fmt, folder, mutation, doc, data, damaged)

        check()
