"""Names are names, one writer and one config per experiment folder, damaged records recomputed (issue 21)."""

from __future__ import annotations

import copy
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from polyret.config import load_config
from polyret.errors import ConfigError, UserError
from polyret.experiment.spec import load_spec, spec_from_dict
from polyret.runner import execute
from polyret.runner.cells import plan_cells
from polyret.runner.execute import RunOptions, prepare_folder, update_manifest

BASE = {
    "name": "names-test",
    "base_model": "tiny",
    "seeds": [1],
    "training": {"sampling": {"batch_size": 4}, "train": {"max_steps": 4}},
    "arms": {"cross": {"strategy": "cross"}, "hybrid": {"strategy": "hybrid", "alpha": 0.5}},
    "references": ["bm25"],
    "evaluation": {"suites": [{"task": "xquad-r", "max_queries": 4}]},
    "preregistration": {"file": "prereg.json"},
}


def _spec(**changes):
    raw = copy.deepcopy(BASE)
    raw.update(changes)
    return spec_from_dict(raw, "exp.yaml")


# ------------------------------------------------------------------ names
UNSAFE = ["../../../escape", "a/b", "a\\b", "..", ".hidden", "a b", "", "a..b", "é/x"]


@pytest.mark.parametrize("name", UNSAFE)
def test_arm_names_that_are_not_path_safe_are_refused(name):
    with pytest.raises(ConfigError, match="arm name"):
        _spec(arms={name: {"strategy": "cross"}})


def test_experiment_name_must_be_path_safe():
    with pytest.raises(ConfigError, match="experiment name"):
        _spec(name="../out")


def test_shipped_dotted_arm_names_stay_valid():
    assert _spec(arms={"alpha-0.25": {"strategy": "hybrid", "alpha": 0.25}}).arm_names == ["alpha-0.25"]


def test_integer_arm_name_is_refused_so_1_and_quoted_1_cannot_be_two_arms(tmp_path):
    path = tmp_path / "exp.yaml"
    raw = yaml.safe_dump(BASE, sort_keys=False).replace(
        "  cross:\n", "  1:\n").replace("  hybrid:\n", "  '1':\n")
    path.write_text(raw)
    with pytest.raises(ConfigError, match=r"arm name 1 is a int.*quoted"):
        load_spec(path)


def test_arm_names_differing_only_in_case_are_refused():
    with pytest.raises(ConfigError, match="differ only in case"):
        _spec(arms={"Cross": {"strategy": "cross"}, "cross": {"strategy": "cross"}})


def test_repeated_arm_key_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "exp.yaml"
    text = yaml.safe_dump({k: v for k, v in BASE.items() if k != "arms"}, sort_keys=False)
    path.write_text(text + "arms:\n  cross: {strategy: cross}\n  cross: {strategy: mono}\n")
    n = text.count("\n") + 3
    with pytest.raises(ConfigError, match=rf"exp.yaml:{n}: invalid YAML: duplicate key 'cross' \(first "):
        load_spec(path)


def test_duplicate_keys_are_errors_in_training_configs_and_overrides(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text("train:\n  lr: 1.0e-5\n  lr: 1.0e-3\n")
    with pytest.raises(ConfigError, match="train.yaml:3: invalid YAML: duplicate key 'lr'"):
        load_config(path)
    with pytest.raises(ConfigError, match="duplicate key"):
        load_config(None, ["data.languages={a: 1, a: 2}"])


@pytest.mark.parametrize("section", ["[1, 2]", "5", "'text'"])
def test_extends_with_a_section_of_the_wrong_type_is_one_line(tmp_path, section):
    parent = tmp_path / "parent.yaml"
    parent.write_text(yaml.safe_dump(BASE, sort_keys=False))
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: parent.yaml\ntraining:\n  train: {section}\n")
    with pytest.raises(ConfigError, match=r"child.yaml: training.train: expected a mapping"):
        load_spec(child)
    child.write_text(f"extends: parent.yaml\ntraining: {section}\n")
    with pytest.raises(ConfigError, match=r"child.yaml: training: expected a mapping"):
        load_spec(child)
    child.write_text("extends: [parent.yaml]\n")
    with pytest.raises(ConfigError, match="extends: expected the path"):
        load_spec(child)


# ------------------------------------------------------------------ one config per folder
def test_a_changed_spec_is_refused_with_the_difference(tmp_path):
    out = tmp_path / "out"
    prepare_folder(_spec(), out)
    changed = _spec(training={"sampling": {"batch_size": 4}, "train": {"max_steps": 4, "lr": 1e-3}})
    with pytest.raises(UserError, match=r"training\.train\.lr: \(absent\) -> 0\.001.*--allow-spec-change"):
        prepare_folder(changed, out)
    assert load_spec(out / "experiment.yaml").training["train"] == {"max_steps": 4}  # not replaced


def test_allow_spec_change_moves_the_old_cells_apart(tmp_path):
    out = tmp_path / "out"
    old = _spec()
    layout = prepare_folder(old, out)
    for cell in plan_cells(old):  # every cell of the old config has a record
        layout.cell_dir(cell.cell_id).mkdir(parents=True)
        layout.cell_file(cell.cell_id).write_text(json.dumps({"cell_id": cell.cell_id, "arm": cell.arm,
                                                              "kind": cell.kind}))
    new = _spec(training={"sampling": {"batch_size": 4}, "train": {"max_steps": 4, "lr": 1e-3}})
    prepare_folder(new, out, allow_spec_change=True)
    kept = set(layout.cell_ids())
    moved = {p.name for p in (out / "superseded" / old.fingerprint() / "cells").iterdir()}
    trained_old = {c.cell_id for c in plan_cells(old) if c.kind == "trained"}
    assert moved == trained_old and kept == {c.cell_id for c in plan_cells(old) if c.kind == "reference"}
    assert kept <= {c.cell_id for c in plan_cells(new)}  # the bm25 reference is the same computation
    assert load_spec(out / "superseded" / old.fingerprint() / "experiment.yaml").to_dict() == old.to_dict()
    assert load_spec(out / "experiment.yaml").to_dict() == new.to_dict()


def test_the_same_spec_reruns_without_complaint(tmp_path):
    prepare_folder(_spec(), tmp_path / "out")
    prepare_folder(_spec(), tmp_path / "out")


# ------------------------------------------------------------------ one writer per folder
HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from polyret.runner.folder import FolderLock
    lock = FolderLock(Path(sys.argv[1])).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


def _holder(out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(execute.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True,
                            env=env)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_run_on_a_locked_folder_stops_and_a_killed_holder_releases_it(tmp_path):
    out = tmp_path / "out"
    proc = _holder(out)
    try:
        with pytest.raises(UserError, match=rf"pid {proc.pid}\) is writing this experiment folder"):
            execute.run_experiment(_spec(), out, RunOptions(progress=False, report=False))
        assert not (out / "experiment.yaml").exists()  # refused before anything was written
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    from polyret.runner.folder import FolderLock

    with FolderLock(out):  # the kernel released the killed holder's lock
        pass
    deadline = time.time() + 5
    while time.time() < deadline:  # and a fresh holder can take it again
        try:
            with FolderLock(out):
                break
        except UserError:
            time.sleep(0.1)


# ------------------------------------------------------------------ damaged records are recomputed
@pytest.mark.parametrize("content", ["null", "[]", "{", '{"cell_id": "x"}',
                                     '{"cell_id": 1, "arm": "a", "kind": "z"}'])
def test_damaged_cell_json_is_set_aside_and_recomputed(tmp_path, content):
    spec = _spec()
    layout = prepare_folder(spec, tmp_path / "out")
    cell = plan_cells(spec)[0]
    layout.cell_dir(cell.cell_id).mkdir(parents=True)
    layout.cell_file(cell.cell_id).write_text(content)
    update_manifest(layout, spec, RunOptions())  # the manifest skips it instead of stopping
    record = execute._load_or_new_record(layout, spec, cell, RunOptions())
    assert record.cell_id == cell.cell_id and record.status == "pending"
    aside = [p for p in layout.cell_dir(cell.cell_id).iterdir() if p.name.startswith("cell.json.damaged-")]
    assert len(aside) == 1 and layout.read_cell(cell.cell_id).cell_id == cell.cell_id


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08\x00", "cut", b"[1, 2]", b"null"])
def test_damaged_result_file_does_not_stop_the_run_and_is_recomputed(tmp_path, content):
    spec = _spec()
    layout = prepare_folder(spec, tmp_path / "out")
    cell = next(c for c in plan_cells(spec) if c.kind == "trained")
    suite = cell.suites(spec)[0]
    layout.cell_dir(cell.cell_id).mkdir(parents=True)
    layout.cell_file(cell.cell_id).write_text(json.dumps({"cell_id": cell.cell_id, "arm": cell.arm,
                                                          "kind": cell.kind, "status": "done"}))
    path = layout.result_file(cell.cell_id, suite.slug)
    path.parent.mkdir(parents=True)
    if content == "cut":
        content = gzip.compress(json.dumps({"task": "x", "experiment": {"suite_key": "k"}}).encode())[:-9]
    path.write_bytes(content)
    manifest = update_manifest(layout, spec, RunOptions())
    assert json.loads(manifest.read_text())["cells"][cell.cell_id]["status"] == "done"
    assert not execute._has_result(layout, cell.cell_id, suite, spec.precision)  # -> evaluated again


@pytest.mark.parametrize("content", ["[]", "null", "{", '{"experiment": 3}',
                                     '{"experiment": "x", "cells": []}'])
def test_damaged_manifest_is_rewritten(tmp_path, content):
    spec = _spec()
    layout = prepare_folder(spec, tmp_path / "out")
    layout.manifest_file.write_text(content)
    assert json.loads(update_manifest(layout, spec, RunOptions()).read_text())["experiment"] == spec.name


@pytest.mark.parametrize("content", ["[]", "null", '{"prereg_version": 1}', '{"prereg_version": 1, '
                                     '"experiment": "e", "tasks": {"beir/x": []}}'])
def test_preregistration_of_the_wrong_shape_is_one_line(tmp_path, content):
    from polyret.runner.prereg import load_preregistration

    path = tmp_path / "prereg.json"
    path.write_text(content)
    spec = _spec(preregistration={"file": str(path)},
                 evaluation={"suites": [{"task": "beir/scifact", "max_queries": 4}]})
    with pytest.raises(UserError, match=r"prereg.json: .*pre-registration"):
        load_preregistration(spec)
