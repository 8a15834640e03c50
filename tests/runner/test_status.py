"""``polyret experiment status``: a training in progress shows its step and pace, and the ETA is
scaled to that pace when it differs from the finished cells' (another machine)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from polyret.experiment.layout import CellRecord, ExperimentLayout
from polyret.runner.plan import format_status, training_progress

STUDY = Path(__file__).resolve().parents[2] / "docs" / "results" / "rq-birco"


def _study_copy(tmp_path: Path) -> ExperimentLayout:
    """The committed rq-birco folder's spec and one finished trained cell (hybrid seed 1)."""
    out = tmp_path / "rq-birco"
    (out / "cells").mkdir(parents=True)
    shutil.copy(STUDY / "experiment.yaml", out / "experiment.yaml")
    shutil.copytree(STUDY / "cells" / "hybrid-s1-a3463ec1", out / "cells" / "hybrid-s1-a3463ec1")
    return ExperimentLayout(out)


def _training(layout: ExperimentLayout, cell_id: str, rows: list[str]) -> None:
    layout.write_cell(CellRecord(cell_id, "cross", "trained", 1, "cross", None, status="pending"))
    train = layout.train_dir(cell_id)
    train.mkdir(parents=True)
    (train / "metrics.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_training_in_progress_shows_step_pace_and_a_scaled_eta(tmp_path):
    layout = _study_copy(tmp_path)
    finished = layout.read_cell("hybrid-s1-a3463ec1")
    past_pace, past_total = finished.train_summary["s_per_step"], finished.timings["total_s"]
    _training(layout, "cross-s1-c4186bd2", [
        json.dumps({"step": 0, "val_loss": 1.85}),
        json.dumps({"step": 10, "loss": 2.1, "s_per_step": 10.0}),
        json.dumps({"step": 20, "loss": 1.4, "s_per_step": 8.0}),
        '{"step": 30, "loss": 0.5, "s_per',  # cut short by a kill
    ])
    text = format_status(layout.root)
    row = next(line for line in text.splitlines() if "cross-s1-c4186bd2" in line)
    assert "training step 20/280 at 8.0 s/step (~34:40 to go)" in row  # 260 steps x 8 s
    expected = past_total * 8.0 / past_pace * 9  # nine trained cells are not finished
    eta = text.splitlines()[-1].split("ETA ~")[1].split(" ")[0]
    h, m, s = (int(x) for x in eta.split(":"))
    assert abs(h * 3600 + m * 60 + s - expected) <= 1
    assert f"finished cells trained at {past_pace:.1f} s/step, the running one at 8.0" in text


def test_without_a_training_in_progress_the_eta_is_the_finished_cells_mean(tmp_path):
    layout = _study_copy(tmp_path)
    total = layout.read_cell("hybrid-s1-a3463ec1").timings["total_s"]
    last = format_status(layout.root).splitlines()[-1]
    assert "running one" not in last
    h, m, s = (int(x) for x in last.split("ETA ~")[1].split(":"))
    assert abs(h * 3600 + m * 60 + s - total * 9) <= 1


def test_training_progress_reads_the_last_complete_logged_step(tmp_path):
    assert training_progress(tmp_path) is None
    (tmp_path / "metrics.jsonl").write_text('{"step": 5, "s_per_step": 2.5}\n{"step": 5, "val_loss": 1}\n')
    assert training_progress(tmp_path) == (5, 2.5)
