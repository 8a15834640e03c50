"""`polyret report` on a synthetic experiment folder: HTML content, verdicts, partial grids."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from report_builders import PREREG_COMMIT, build_experiment, query_ids

from polyret.cli import main
from polyret.errors import UserError
from polyret.experiment.layout import read_result
from polyret.report.analysis import column_values, comparison_rows, main_columns
from polyret.report.collect import beir_per_query, load_experiment
from polyret.report.render import build, to_markdown
from polyret.report.write import write_report


@pytest.fixture(scope="module")
def better(tmp_path_factory):
    """hybrid clearly better than cross and mono (+0.08 per query)."""
    return build_experiment(tmp_path_factory.mktemp("better"), effects={"hybrid": 0.08})


def test_html_is_self_contained_with_main_table_question_and_images(better):
    md, page = write_report(better)
    text = page.read_text(encoding="utf-8")
    assert 'id="main-table"' in text and 'id="research-question"' in text
    assert "Does hybrid beat cross on complex queries?" in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) >= 6
    assert not re.search(r'(src|href)="(?!data:)', text)  # nothing external
    for name in ("forest", "bars-xquad-r", "bars-beir", "pairs-xquad-r", "bias", "alpha", "loss"):
        assert (better / "plots" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    md_text = md.read_text(encoding="utf-8")
    assert "](plots/forest.png)" in md_text and "| model |" in md_text
    # main table, one table per suite: hybrid row, bold best per column; BM25 only on BEIR
    assert "| hybrid (3 seeds) | **0.680 ± 0.000** |" in md_text
    assert "| bm25 | – | – | – | – |\n" in md_text and re.search(r"\| bm25 \| 0\.\d{3} \|", md_text)
    assert "**xquad-r**" in md_text and "**beir/scifact**" in md_text
    assert "| zero-shot |" in md_text and "Complete grid: 11 of 11" in md_text
    assert "paper LaBSE hybrid" in md_text
    # alpha table: hybrid (alpha 0.5) is best in both columns, so its mean rank is 1.0 and bold
    alpha_rows = {line.split(" | ")[1]: line for line in md_text.splitlines()
                  if line.startswith(("| 0 |", "| 0.5 |", "| 1 |"))}
    assert alpha_rows["hybrid"].endswith("| **0.480 ± 0.000** | **0.573 ± 0.003** | **1.0** |")
    assert not alpha_rows["cross"].endswith("** |") and not alpha_rows["mono"].endswith("** |")
    assert f"fixed at commit {PREREG_COMMIT} (2026-12-02T03:52:07+00:00); unchanged since" in md_text


def test_report_flags_a_preregistration_changed_after_its_commit(tmp_path):
    root = build_experiment(tmp_path / "changed", prereg_changed=True)
    md_text = write_report(root)[0].read_text(encoding="utf-8")
    assert f"fixed at commit {PREREG_COMMIT}" in md_text and "CHANGED after that commit" in md_text


def test_clearly_better_arm_is_significant_in_the_right_direction(better):
    rows = comparison_rows(load_experiment(better))
    primary = [r for r in rows if r.family == "primary"]
    expected = [("beir/scifact", s) for s in ("all", "long", "multi-part")]
    assert [(r.task, r.subset) for r in primary] == expected
    assert all(r.diff > 0.05 and r.significant(0.05) for r in primary)
    blocks, _ = build(load_experiment(better), plots={})
    answer = next(b.value for b in blocks if b.kind == "verdict")
    assert "hybrid scores higher than cross on all 3 (" in answer


def test_subset_rows_use_the_preregistered_query_ids(better):
    data = load_experiment(better)
    rows = {(r.comparison, r.subset, r.metric): r for r in comparison_rows(data)}
    long = rows[("hybrid - cross", "long", "nDCG@10")]
    assert long.n == 15  # ids q000..q014 of preregistration.json
    hyb = [beir_per_query(r, "nDCG@10") for r in data.runs("hybrid", "beir-scifact")]
    crs = [beir_per_query(r, "nDCG@10") for r in data.runs("cross", "beir-scifact")]
    ids = query_ids(60)[:15]
    expect = sum(sum(h[q] for h in hyb) / 3 - sum(c[q] for c in crs) / 3 for q in ids) / 15
    assert long.diff == pytest.approx(expect)


def test_identical_arms_say_no_significant_difference(tmp_path):
    root = build_experiment(tmp_path / "same", shared_noise=True)
    text = to_markdown(build(load_experiment(root), plots={})[0])
    assert "**Answer:** After Holm correction" in text and "inconclusive on all 3" in text
    assert "no equivalence margin was pre-registered" in text
    rows = [r for r in comparison_rows(load_experiment(root)) if r.family == "primary"]
    assert all(r.p == 1.0 and r.diff == 0 for r in rows)


def _rewrite_result(root, arm: str, change) -> str:
    """Apply ``change`` to the scifact result of ``arm``'s first cell; returns the file's path."""
    path = next((root / "cells").glob(f"{arm}-*/results/beir-scifact.json*"))
    result = read_result(path).to_dict()
    change(result["per_query"]["all"]["nDCG@10"])
    text = json.dumps(result).encode()  # NaN / Infinity literals as a careless writer would leave them
    path.write_bytes(gzip.compress(text) if path.suffix == ".gz" else text)
    return str(path)


@pytest.mark.parametrize("bad", [None, "nan", "inf"])
def test_a_non_finite_per_query_score_is_an_error_naming_file_and_query(tmp_path, bad):
    root = build_experiment(tmp_path / "bad", effects={"hybrid": 0.08})
    query = query_ids(60)[3]

    def spoil(scores):
        scores[query] = None if bad is None else float(bad)

    _rewrite_result(root, "hybrid", spoil)
    with pytest.raises(UserError, match=rf"beir-scifact.*query '{query}'.*not a finite number"):
        comparison_rows(load_experiment(root))


def test_a_preregistered_query_missing_from_a_result_is_an_error(tmp_path):
    root = build_experiment(tmp_path / "lost", effects={"hybrid": 0.08})
    data = load_experiment(root)
    registered = data.subsets("beir/scifact")["long"][0]
    _rewrite_result(root, "cross", lambda scores: scores.pop(registered))
    with pytest.raises(UserError, match=rf"cross-.*beir-scifact.*query '{registered}' has no nDCG@10 score"):
        comparison_rows(load_experiment(root))


def test_partial_grid_reports_what_is_missing(tmp_path):
    root = build_experiment(tmp_path / "partial", effects={"hybrid": 0.08}, seeds=(1, 2),
                            skip=(("hybrid", 2), ("bm25", None)), demo=True)
    (root / "cells" / "cross-s1-abc" / "results" / "xquad-r.json.gz").unlink()
    md, page = write_report(root)
    text = md.read_text(encoding="utf-8")
    assert "Partial grid: 6 of 8 cells done" in text
    assert "cell hybrid seed 2: not run" in text and "reference bm25: not run" in text
    assert "cross-s1-abc: no result for xquad-r" in text
    assert "DEMO-SCALE RUN" in text and "5 steps, 40 queries" in text
    assert "| hybrid (1 seed) |" in text and "| bm25 | – | – | – | – |\n" in text
    assert "| bm25 | missing |" in text
    assert "data:image/png;base64," in page.read_text(encoding="utf-8")


def test_plots_are_deterministic(better):
    from polyret.report.plots import forest, loss_curves, pair_heatmaps

    data = load_experiment(better)
    rows = comparison_rows(data)

    def draw():
        return {**forest(rows, "t"), **pair_heatmaps(data), **loss_curves(data)}

    first = draw()
    assert len(first) == 3 and first == draw()


def test_cli_prints_the_html_path(better, capsys):
    assert main(["report", str(better)]) == 0
    assert f"report: {better / 'report.html'}" in capsys.readouterr().out


def test_not_an_experiment_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no experiment.yaml"):
        write_report(tmp_path)
    assert main(["report", str(tmp_path)]) == 2


def test_training_curves_survive_a_torn_last_line(better, tmp_path):
    from polyret.report.plots import read_curve

    source = better / "cells" / "hybrid-s1-abc" / "train" / "metrics.jsonl"
    path = tmp_path / "metrics.jsonl"
    path.write_text(source.read_text() + '{"step": 6, "lo', encoding="utf-8")
    train, val = read_curve(path)
    assert len(train) == 5 and val == [(5, 0.5)]
    assert train[0] == (1, json.loads(source.read_text().splitlines()[0])["loss"])


@pytest.mark.slow  # a full real dataset (BM25 on SciFact: a few seconds)
def test_real_bm25_result_subset_rows_match_the_evaluator(tmp_path, shared_data):
    """A real BEIR result (BM25 on SciFact) as every row: subset means recomputed from the
    pre-registered ids equal the evaluator's own subset metrics, and equal arms test as equal."""
    out = tmp_path / "bm25.json"
    argv = ["evaluate", "--model", "bm25", "--task", "beir/scifact", "--data-dir", str(shared_data)]
    assert main([*argv, "-o", str(out)]) == 0
    result = read_result(out).to_dict()
    root = build_experiment(tmp_path / "real", seeds=(1,), lareqa=(), n_queries=4)
    subsets = {name: {"rule": s["description"], "size": s["size"], "query_ids": sorted(s["queries"])}
               for name, s in result["subsets"].items() if name in ("long", "multi-part")}
    prereg = {"commit": None, "tasks": {"beir/scifact": {"queries": 300, "subsets": subsets}}}
    (root / "preregistration.json").write_text(json.dumps(prereg), encoding="utf-8")
    for path in root.glob("cells/*/results/beir-scifact.json.gz"):
        path.write_bytes(gzip.compress(json.dumps(result).encode()))
    data = load_experiment(root)
    cols = {c.setting: c for c in main_columns(data)}
    for name in ("long", "multi-part"):
        value = column_values(data, "hybrid", cols[name])[0]
        assert value == pytest.approx(result["subsets"][name]["metrics"]["nDCG@10"], abs=1e-6)
    rows = [r for r in comparison_rows(data) if r.family == "primary"]
    assert [r.n for r in rows] == [300, subsets["long"]["size"], subsets["multi-part"]["size"]]
    assert all(r.diff == 0 and r.p == 1.0 for r in rows)


def test_analysts_notes_and_copied_cells_are_shown(tmp_path):
    root = build_experiment(tmp_path / "notes", effects={"hybrid": 0.08})
    notes = "ArguAna: truncation explains it.\n\nSecond <paragraph>.\n"
    (root / "notes.md").write_text(notes, encoding="utf-8")
    cell = json.loads((root / "cells" / "cross-s1-abc" / "cell.json").read_text(encoding="utf-8"))
    cell["reused_from"] = {"experiment": "other", "cell_id": "hybrid-s1-xyz", "results": ["xquad-r"]}
    (root / "cells" / "cross-s1-abc" / "cell.json").write_text(json.dumps(cell), encoding="utf-8")
    md, page = write_report(root)
    text = md.read_text(encoding="utf-8")
    assert "## Notes" in text and "ArguAna: truncation explains it." in text
    assert "Second <paragraph>." in text
    assert "(copied from hybrid-s1-xyz)" in text
    whole, here = (next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
                   for name in ("whole grid", "run in this experiment"))
    cells = len(list((root / "cells").iterdir()))
    assert f"| {cells} cells |" in whole
    assert f"| {cells - 1} cells (1 copied, cost paid by their source) |" in here
    total = [float(line.strip("| ").split(" | ")[7]) for line in (here, whole)]  # the "total" column
    assert total[0] < total[1]
    assert "Second &lt;paragraph&gt;." in page.read_text(encoding="utf-8")  # escaped in HTML
    (root / "notes.md").unlink()
    assert "## Notes" not in write_report(root)[0].read_text(encoding="utf-8")


def _set_train_summary(root, cell_id: str, summary: dict) -> None:
    path = root / "cells" / cell_id / "cell.json"
    cell = json.loads(path.read_text(encoding="utf-8"))
    cell["train_summary"] = summary
    path.write_text(json.dumps(cell), encoding="utf-8")


def test_cost_table_shows_s_per_step_and_flags_resumed_training(tmp_path):
    root = build_experiment(tmp_path / "cost", effects={"hybrid": 0.08})
    _set_train_summary(root, "mono-s1-abc", {"steps": 280, "seconds": 584.0, "s_per_step": 3.2444,
                                             "resumed_from": "train/checkpoints/step-000100"})
    _set_train_summary(root, "cross-s1-abc", {"steps": 280, "seconds": 920.0, "s_per_step": 3.2857,
                                              "resumed_from": None, "machine": {
                                                  "cpu_model": "Intel(R) Xeon(R) Processor",
                                                  "cpu_bf16_flags": ["amx_bf16", "avx512_bf16"]}})
    rows = {line.split(" | ")[0].lstrip("| "): line for line in write_report(root)[0].read_text(
        encoding="utf-8").splitlines() if line.startswith("| ") and "-abc |" in line and "done" in line}
    assert "done (resumed: train counts the last 180 steps) | 3.24 | 10 |" in rows["mono-s1-abc"]
    assert "| done | 3.29 | 10 |" in rows["cross-s1-abc"] and "resumed" not in rows["cross-s1-abc"]
    assert "| done | – | 10 |" in rows["hybrid-s1-abc"]
    assert rows["cross-s1-abc"].endswith("| Intel Xeon, amx_bf16 |")  # the machine that trained it


def test_machine_label_names_the_kind_that_decides_bf16_arithmetic():
    from polyret.report.tables import machine_label

    amd = {"cpu_model": "AMD EPYC", "cpu_bf16_flags": ["avx512_bf16"]}
    assert machine_label(amd) == "AMD EPYC, avx512_bf16"
    assert machine_label({"cpu_model": "Intel(R) Xeon(R) Processor", "cpu_bf16_flags": []}) == (
        "Intel Xeon, no bf16 instructions")
    assert machine_label({"cpu_model": "x", "gpu": "NVIDIA H100 80GB HBM3"}) == "NVIDIA H100 80GB HBM3"
    assert machine_label({}) == machine_label(None) == "–"


def test_provenance_line_names_the_code_commit_under_result_commits(tmp_path):
    root = build_experiment(tmp_path / "prov", effects={"hybrid": 0.08})
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert "git commit abc1234, spec hash" in write_report(root)[0].read_text(encoding="utf-8")
    manifest.update(code_commit="def5678", git_dirty=True)
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    text = write_report(root)[0].read_text(encoding="utf-8")
    assert ("git commit abc1234 (results on top of code commit def5678) with local changes to src, "
            "spec hash") in text


def test_pooled_preregistration_gives_a_pooled_primary_family_and_per_task_cells(tmp_path):
    root = build_experiment(tmp_path / "pooled", effects={"hybrid": 0.001},
                            beir=("beir/scifact", "beir/nfcorpus"),
                            prereg={"pooled": True, "equivalence_margin": 0.05, "subsets": []})
    data = load_experiment(root)
    rows = [r for r in comparison_rows(data) if r.comparison == "hybrid - cross" and r.metric == "nDCG@10"]
    primary = [r for r in rows if r.family == "primary"]
    per_task = [r for r in rows if r.family == "per-task"]
    assert [(r.task, r.subset, r.n) for r in primary] == [("pooled (2 of 2 tasks)", "all", 120)]
    assert sorted(r.task for r in per_task) == ["beir/nfcorpus", "beir/scifact"]
    pooled = primary[0]
    assert pooled.diff == pytest.approx(sum(r.diff for r in per_task) / 2)
    assert pooled.p_holm == pooled.p  # a family of one
    assert min(r.p_holm for r in per_task) == pytest.approx(min(1.0, 2 * min(r.p for r in per_task)))
    # a tiny true difference, precise data: equivalent within the pre-registered +-0.05
    assert pooled.outcome(0.05) == "equivalent"
    text = to_markdown(build(data, plots={})[0])
    assert "(equivalent) on the one cell (pooled (2 of 2 tasks) / all)" in text and "+-0.05" in text
    assert "Per-task cells of the pooled comparison" in text


def test_pooled_test_is_not_computed_when_a_seed_lacks_a_task(tmp_path):
    root = build_experiment(tmp_path / "holey", effects={"hybrid": 0.01},
                            beir=("beir/scifact", "beir/nfcorpus"), prereg={"pooled": True, "subsets": []})
    next((root / "cells").glob("cross-s2-*/results/beir-nfcorpus.json*")).unlink()
    rows = [r for r in comparison_rows(load_experiment(root)) if r.family == "primary"]
    assert len(rows) == 1 and rows[0].n == 0 and "unbalanced" in rows[0].note
