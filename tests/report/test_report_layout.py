"""What a reader of the report sees: Markdown rendered, tables that fit, honest captions and caveats."""

from __future__ import annotations

import math
import re

import yaml
from report_builders import build_experiment

from polyret.report.formatting import drop_constant_columns, is_numeric, split_columns, tidy_number
from polyret.report.page import markdown_html, read_answer
from polyret.report.render import raw_vs_corrected
from polyret.report.tables import Table
from polyret.report.write import write_report
from polyret.stats.difference import Difference as DiffRow

NOTES = "**Zero-shot ArguAna vs MTEB.** Run `polyret evaluate --task beir/arguana`.\n\n# A heading\n"


def demo_folder(root):
    """A one-seed demo grid without the zero-shot model whose XQuAD-R is cut to 2 languages and 100
    questions (as configs/experiments/demo.yaml), with Markdown notes."""
    build_experiment(root, seeds=(1,), demo=True, effects={"hybrid": 0.03})
    spec = yaml.safe_load((root / "experiment.yaml").read_text(encoding="utf-8"))
    spec["references"] = ["bm25"]
    spec["evaluation"]["suites"][0].update(languages=["en", "de"], max_queries=100)
    (root / "experiment.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    (root / "notes.md").write_text(NOTES, encoding="utf-8")
    return root


def test_signed_zeros_are_never_shown():
    assert tidy_number("[-0.0000, +0.0066]") == "[0.0000, +0.0066]"
    assert tidy_number("+0.000") == "0.000" and tidy_number("-0.0001") == "-0.0001"
    assert tidy_number("1.0e-04") == "1.0e-04" and tidy_number("-0.5") == "-0.5"


def test_numbers_are_marked_to_stay_on_one_line():
    for text in ("0.788 ± 0.003", "1.0e-04", "[-0.0032, +0.0047]", "32.3 %", "+2.3", "512 / 512", "1401"):
        assert is_numeric(text), text
    for text in ("hybrid (3 seeds)", "beir/scifact", "–", "missing", "multi-part"):
        assert not is_numeric(text), text


def test_wide_tables_split_and_constant_columns_move_to_the_title():
    table = Table("T", ["model", "a1", "a2", "b1"], [["x", "1", "2", "3"], ["y", "4", "5", "6"]], {(1, 3)})
    a, b = split_columns(table, [("A", [1, 2]), ("B", [3])])
    assert (a.header, b.header) == (["model", "a1", "a2"], ["model", "b1"])
    assert b.best == {(1, 1)} and a.best == set()
    same = Table("Family", ["comparison", "subset", "note"], [["h - c", "all", ""], ["h - c", "long", ""]])
    fitted = drop_constant_columns(same, keep=0)
    assert fitted.header == ["subset"] and fitted.title == "Family (comparison: h - c)"


def test_answer_explains_raw_evidence_that_holm_does_not_keep():
    raw = DiffRow("h - c", "beir/scifact", "all", "nDCG@10", 300, diff=0.007, ci_low=0.0001, ci_high=0.014,
                  p=0.03, p_holm=0.33, family="primary")
    plain = DiffRow("h - c", "beir/scifact", "long", "nDCG@10", 78, diff=0.001, ci_low=-0.01, ci_high=0.01,
                    p=0.8, p_holm=1.0, family="primary")
    text = raw_vs_corrected([raw, plain], 0.05)
    assert "1 of 2 cells" in text and "scifact / all (raw p = 0.03" in text and "Holm p = 0.33" in text
    assert "not counted as evidence" in text
    assert raw_vs_corrected([plain], 0.05) == ""
    kept = DiffRow("h - c", "t", "all", "m", 9, diff=0.1, ci_low=0.05, ci_high=0.2, p=0.001, p_holm=0.002)
    assert raw_vs_corrected([kept], 0.05) == "" and not math.isnan(kept.p_holm)


def test_markdown_notes_are_rendered_not_shown_raw():
    out = markdown_html(NOTES + "\n<script>x</script>\n")
    assert "<strong>Zero-shot ArguAna vs MTEB.</strong>" in out and "<code>polyret evaluate" in out
    assert "<h3>A heading</h3>" in out and "<script>" not in out  # below the report's own h2


def test_demo_report_states_its_caveats_and_has_one_heading_per_section(tmp_path):
    root = demo_folder(tmp_path / "demo")
    md, page = write_report(root)
    text, html = md.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")
    assert "Caveat:" in text and "xquad-r: languages en de only, 100 questions subsampled" in text
    assert "Zero-shot vs published" not in text and "ArguAna" not in text.replace(NOTES.split("\n")[0], "")
    assert "<strong>Zero-shot ArguAna vs MTEB.</strong>" in html and "**Zero-shot" not in html
    headings = re.findall(r"<h[23][^>]*>([^<]*)</h[23]>", html)
    assert all(a != b for a, b in zip(headings, headings[1:], strict=False)), headings
    assert "-0.0000" not in html and "-0.000 " not in html
    assert "<td class=\"num\">" in html and "td.num{white-space:nowrap" in html
    assert read_answer(md).startswith(("No significant difference", "After Holm correction"))
    assert read_answer(md).endswith("(Demo-scale run: indicative only.)")


def test_experiment_run_ends_with_the_answer_and_the_report_path(tmp_path, monkeypatch, capsys):
    import polyret.runner.execute as execute
    from polyret.cli import main

    root = demo_folder(tmp_path / "demo")
    page = write_report(root)[1]
    summary = execute.RunSummary(root, 4, ["hybrid-s1"], ["cross-s1"], page, 1.0)
    monkeypatch.setattr(execute, "run_experiment", lambda spec, out, options: summary)
    assert main(["experiment", "run", str(root / "experiment.yaml"), "--out", str(root)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2] == "answer: " + read_answer(root / "report.md")
    assert lines[-1] == f"report: {page.resolve()}"
