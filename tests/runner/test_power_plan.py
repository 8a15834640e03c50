"""``polyret experiment plan --variance-from``: per pre-registered cell, the minimal detectable
difference from an earlier experiment's variance (the committed rq-complex-beir folder), per task
and pooled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from polyret.cli import main
from polyret.experiment.spec import spec_from_dict
from polyret.report.analysis import arm_scores, checked
from polyret.report.collect import load_experiment
from polyret.runner.power import power_rows
from polyret.stats.power import components, mdd

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "docs" / "results" / "rq-complex-beir"
pytestmark = pytest.mark.skipif(not PILOT.is_dir(), reason="committed report folder absent")


def _spec(**prereg):
    raw = yaml.safe_load((PILOT / "experiment.yaml").read_text(encoding="utf-8"))
    raw["preregistration"].update(prereg)
    return spec_from_dict(raw, str(PILOT / "experiment.yaml"))


def test_each_cell_uses_its_own_pilot_components_and_holm_family_size():
    spec = _spec()
    rows = power_rows(spec, PILOT, {})
    assert len(rows) == 12 and {r.family_size for r in rows} == {12}
    row = next(r for r in rows if r.task == "beir/nfcorpus" and r.subset == "all")
    assert row.queries == 323 and row.seeds == 3
    data = load_experiment(PILOT)
    arrays = []
    for arm in ("hybrid", "cross"):
        runs = arm_scores(data, arm, "beir-nfcorpus", "nDCG@10")
        ids = sorted(runs[0][1])
        arrays.append(np.array([[r[q] for q in ids] for r in checked(runs, ids, "nDCG@10")]))
    expected = mdd(components(*arrays), 323, 3, alpha=0.05, family_size=12)
    assert row.mdd == pytest.approx(expected.mdd) and row.se == pytest.approx(expected.se)
    small = next(r for r in rows if r.task == "beir/nfcorpus" and r.subset == "multi-part")
    assert small.queries == 18 and small.mdd > 2 * row.mdd  # 18 queries detect far less


def test_pooled_design_has_a_pooled_primary_family_and_per_task_cells(capsys, tmp_path):
    spec = _spec(pooled=True, equivalence_margin=0.01, subsets=[])
    rows = power_rows(spec, PILOT, {})
    primary = [r for r in rows if r.family == "primary"]
    per_task = [r for r in rows if r.family == "per-task"]
    assert len(primary) == 1 and primary[0].queries == 323 + 300 + 1401 and primary[0].family_size == 1
    assert len(per_task) == 3 and all(r.family_size == 3 for r in per_task)
    assert primary[0].mdd < min(r.mdd for r in per_task)
    config = tmp_path / "pooled.yaml"
    raw = yaml.safe_load((PILOT / "experiment.yaml").read_text(encoding="utf-8"))
    raw["preregistration"].update(pooled=True, equivalence_margin=0.01, subsets=[],
                                  file=str(tmp_path / "prereg.json"))
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["experiment", "plan", str(config), "--variance-from", str(PILOT), "--power-only"]) == 0
    out = capsys.readouterr().out
    assert "minimal detectable difference at 80% power" in out and "pooled (3 tasks)" in out
    assert "equivalence margin +-0.01" in out


def test_spec_validates_the_margin_and_pooling():
    from polyret.errors import UserError

    with pytest.raises(UserError, match="equivalence_margin: expected a number > 0"):
        _spec(equivalence_margin=-0.01)
    with pytest.raises(UserError, match="pooled: expected true or false"):
        _spec(pooled="yes")


def test_preregister_records_margin_pooling_and_each_cells_mdd(monkeypatch, tmp_path):
    import json

    from polyret.evaluation import subset_listing
    from polyret.runner.prereg import build_preregistration

    pilot_tasks = json.loads((PILOT / "preregistration.json").read_text(encoding="utf-8"))["tasks"]
    monkeypatch.setattr(subset_listing, "preregister", lambda tasks, subsets, **_: pilot_tasks)
    spec = _spec(equivalence_margin=0.01, file=str(tmp_path / "p.json"))
    out = build_preregistration(spec, variance_from=PILOT)
    assert out["equivalence_margin"] == 0.01 and out["pooled"] is False
    assert "Satterthwaite" in out["analysis"]
    cells = out["power"]["cells"]
    assert len(cells) == 12 and out["power"]["power"] == 0.8
    expected = {(r.task, r.subset): r.mdd for r in power_rows(spec, PILOT, {})}
    assert {(c["task"], c["subset"]): c["mdd"] for c in cells} == pytest.approx(expected)
