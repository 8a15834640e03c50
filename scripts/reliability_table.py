"""Regenerate ``docs/reliability.md`` from the reliability test suite (never by hand).

Usage::

    python scripts/reliability_table.py            # runs tests/reliability (slow tests included), ~5 min
    python scripts/reliability_table.py --from-json counts.json   # only render recorded counts

It runs ``pytest tests/reliability -m "slow or not slow"`` with ``POLYRET_RELIABILITY_RECORD`` set, so
every fuzzed or fault-injected case records its outcome (``tests/reliability/recorder.py``), then
writes the table atomically. The exit status is pytest's (1 when a test failed), or 1 when any
crash, silently wrong result or error without a file appears in the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
COMMAND = "python scripts/reliability_table.py"
OUTCOMES = ("clear error", "documented skip", "read, counts checked", "resumed identical",
            "set aside, recomputed", "crash with traceback", "silently wrong", "error without file/line")
BAD = OUTCOMES[5:]
NOT_FUZZED = ("fault", "CLI", "BOM")  # groups of hand-written cases; every other group is a fuzzed reader
# Issue 10's findings, each with the tests that fail before its fix (they run with the suite above and
# their outcome is reported in the document).
ITEMS: dict[str, list[str]] = {
    "1 NaN/inf in training; non-finite embeddings refused": [
        "tests/training/test_trainer_reliability.py::test_nonfinite_steps_are_skipped_counted_and_logged_as_strict_json",
        "tests/training/test_trainer_reliability.py::"
        "test_divergence_stops_with_nonfinite_error_and_keeps_the_last_good_checkpoint",
        "tests/training/test_trainer_reliability.py::test_absurd_learning_rate_never_saves_a_nonfinite_model",
        "tests/evaluation/test_evaluate_tasks.py::test_non_finite_embeddings_are_refused",
        "tests/retrieval/test_retrieval_embed.py::test_embed_of_a_diverged_model_is_refused",
    ],
    "2 no code execution on --resume": [
        "tests/training/test_trainer_reliability.py::test_crafted_checkpoint_is_not_executed",
        "tests/training/test_trainer_reliability.py::test_checkpoint_state_is_weights_only_and_one_description",
    ],
    "3 converted-model cache verified and rebuilt": [
        "tests/modeling/test_modeling_registry.py::test_same_size_damage_is_caught_cheaply",
        "tests/reliability/test_faults.py::test_corrupted_converted_model_is_detected_and_rebuilt",
    ],
    "4 resume: changed config, finished run, damaged checkpoint": [
        "tests/training/test_trainer_reliability.py::test_resume_refuses_a_changed_config_unless_allowed",
        "tests/training/test_trainer_reliability.py::test_resume_of_a_finished_run_returns_its_result_without_training",
        "tests/training/test_trainer_reliability.py::test_truncated_checkpoint_and_torn_metrics_line_fall_back",
    ],
    "5 search/embed outputs atomic and one unit": [
        "tests/retrieval/test_retrieval_trec.py::test_a_run_cut_short_is_refused",
        "tests/retrieval/test_retrieval_embed.py::test_embedding_output_is_one_unit",
        "tests/reliability/test_cli_errors.py::test_full_disk_writing_a_run_file_names_the_file",
    ],
    "6 zero-query evaluations; conflicting qrels": [
        "tests/evaluation/test_evaluate_tasks.py::test_zero_query_evaluations_fail_with_one_line",
        "tests/data/test_data_beir.py::test_conflicting_duplicate_qrels_rows_are_an_error_naming_both_lines",
    ],
    "7 embedding-cache content validated; full cache carries on": [
        "tests/retrieval/test_retrieval_cache.py::test_shard_with_nan_or_wrong_width_is_removed_and_recomputed",
        "tests/reliability/test_faults.py::test_full_cache_disk_carries_on_without_the_cache",
    ],
    "8 one-line user errors (file and line), no traceback unless -v": [
        "tests/reliability/test_cli_errors.py",
        "tests/training/test_trainer_reliability.py::test_full_disk_while_checkpointing_is_one_line_naming_the_path",
    ],
    "9 config validation": [
        "tests/training/test_config.py::test_invalid_values_are_config_errors_naming_the_key",
        "tests/training/test_config.py::test_empty_file_and_scalar_sections_are_config_errors",
    ],
    "10 leftovers of killed writes cleaned": [
        "tests/reliability/test_atomic_writes.py::test_clean_stale_temporaries_removes_only_old_leftovers",
        "tests/retrieval/test_retrieval_cache.py::test_opening_a_cache_removes_stale_leftovers_of_killed_writes",
        "tests/training/test_trainer_reliability.py::"
        "test_resume_on_an_empty_folder_starts_fresh_and_cleans_stale_temporaries",
    ],
}

V = "tests/modeling/test_modeling_verify.py::"
NF = "tests/runner/test_names_and_folders.py::"
TG = "tests/training/test_training_guards.py::"
# Issue 21's findings (files polyret reads besides datasets; names; folders), each with its tests.
ITEMS_21: dict[str, list[str]] = {
    "1 random weights loaded without a word (config/weights/tokenizer disagree)": [
        V + "test_config_with_more_layers_than_the_weights_is_refused_not_randomly_initialised",
        V + "test_missing_tensor_is_refused",
        V + "test_left_over_tensor_is_refused",
        V + "test_tensor_of_another_shape_is_refused",
        V + "test_tokenizer_larger_than_the_embeddings_is_refused",
        V + "test_loading_never_turns_transformers_logging_down",
        "tests/reliability/test_fuzz_model_folders.py::test_fuzz_model_weights_and_config",
    ],
    "3 arm names used as paths; repeated YAML keys; arms 1 and '1'": [
        NF + "test_arm_names_that_are_not_path_safe_are_refused",
        NF + "test_experiment_name_must_be_path_safe",
        NF + "test_repeated_arm_key_is_an_error_naming_the_line",
        NF + "test_integer_arm_name_is_refused_so_1_and_quoted_1_cannot_be_two_arms",
        NF + "test_duplicate_keys_are_errors_in_training_configs_and_overrides",
    ],
    "4 experiment folders mix configs and writers": [
        NF + "test_a_changed_spec_is_refused_with_the_difference",
        NF + "test_allow_spec_change_moves_the_old_cells_apart",
        NF + "test_a_second_run_on_a_locked_folder_stops_and_a_killed_holder_releases_it",
    ],
    "5 batch_size 1 trains nothing": [TG + "test_batch_size_below_two_is_refused_for_the_in_batch_loss"],
    "output equal to an input; checkpoint step beyond max_steps": [
        "tests/reliability/test_cli_errors.py::test_search_refuses_an_output_that_is_one_of_its_inputs",
        "tests/reliability/test_cli_errors.py::test_embed_refuses_to_write_over_its_input",
        "tests/reliability/test_cli_errors.py::test_mine_refuses_to_write_over_its_training_file",
        TG + "test_checkpoint_claiming_a_step_beyond_max_steps_is_refused",
        TG + "test_train_summary_claiming_more_steps_than_max_steps_is_refused",
    ],
    "truncated result stops a run; tampered cache shard used": [
        NF + "test_damaged_result_file_does_not_stop_the_run_and_is_recomputed",
        "tests/retrieval/test_retrieval_cache.py::test_tampered_but_valid_shard_is_detected_and_recomputed",
    ],
    "tracebacks on damaged model, checkpoint and experiment files": [
        V + "test_damaged_metadata_is_one_line_naming_the_file",
        V + "test_damaged_safetensors_header_is_one_line",
        TG + "test_checkpoint_tensors_of_the_wrong_shape_are_one_line",
        TG + "test_damaged_train_summary_is_recomputed",
        NF + "test_damaged_cell_json_is_set_aside_and_recomputed",
        NF + "test_damaged_manifest_is_rewritten",
        NF + "test_preregistration_of_the_wrong_shape_is_one_line",
        NF + "test_extends_with_a_section_of_the_wrong_type_is_one_line",
    ],
}
SECTIONS = {
    "Issue 10 findings and the tests that cover them": ITEMS,
    "Issue 21 findings (files besides datasets, names, folders) and the tests that cover them": ITEMS_21,
}


def run_suite(record: Path, junit: Path, pytest_args: list[str]) -> int:
    env = {**os.environ, "POLYRET_RELIABILITY_RECORD": str(record)}
    named = sorted({t for items in SECTIONS.values() for tests in items.values() for t in tests
                    if not t.startswith("tests/reliability/")})
    command = [sys.executable, "-m", "pytest", "tests/reliability", *named, "-m", "slow or not slow", "-q",
               "-p", "no:cacheprovider", f"--junitxml={junit}", *pytest_args]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def item_outcomes(junit: Path) -> dict[str, tuple[int, int]]:
    """Issue item -> (tests passed, tests run), from pytest's JUnit XML."""
    import xml.etree.ElementTree as ET

    cases = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/") + ".py"
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        cases.append((f"{path}::{case.get('name', '')}", failed, skipped))
    def covers(test: str, case_id: str) -> bool:
        return case_id.split("[")[0] == test if "::" in test else case_id.startswith(test + "::")

    out = {}
    for item, tests in (pair for items in SECTIONS.values() for pair in items.items()):
        mine = [(f, sk) for cid, f, sk in cases if any(covers(t, cid) for t in tests)]
        out[item] = (sum(not f and not sk for f, sk in mine), len(mine))
    return out


def render_items(outcomes: dict[str, tuple[int, int]]) -> list[str]:
    lines = []
    for heading, items in SECTIONS.items():
        lines += ["", f"## {heading}", "", "| finding | tests | passed / run |", "|---|---|---:|"]
        for item, tests in items.items():
            passed, run = outcomes.get(item, (0, 0))
            names = "<br>".join(f"`{t.split('::')[-1] if '::' in t else t}`" for t in tests)
            lines.append(f"| {item} | {names} | {passed} / {run} |")
    return lines


def render(rows: list[dict], pytest_status: int | None = None,
           items: dict[str, tuple[int, int]] | None = None) -> str:
    """The Markdown document for recorded ``rows`` (``group``, ``case``, ``outcome``, ``n``)."""
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES, 0))
    for row in rows:
        table[(row["group"], row["case"])][row["outcome"]] += row["n"]
    totals = dict.fromkeys(OUTCOMES, 0)
    for counts in table.values():
        for outcome, n in counts.items():
            totals[outcome] += n
    fuzzed = sum(n for (group, _), counts in table.items() if not group.startswith(NOT_FUZZED)
                 for n in counts.values())
    lines = [
        "# Reliability: bad input and faults, as tested",
        "",
        f"Generated by the test suite: `{COMMAND}` (runs `pytest tests/reliability` with outcome",
        "recording; do not edit by hand). Every fuzzed case is a valid generated file plus one mutation;",
        "an independent oracle says which records a correct reader returns, or which file and line its",
        "error must name. Fault cases kill or starve (full disk) a real `polyret` process and rerun it.",
        "",
        f"- generated: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
        + (f"; pytest exit status {pytest_status}" if pytest_status is not None else ""),
        f"- cases: {sum(totals.values()):,} in total, {fuzzed:,} of them generated by the reader fuzz tests",
        f"- crashes with a traceback: {totals['crash with traceback']}; silently wrong results: "
        f"{totals['silently wrong']}; errors not naming the file/line: {totals['error without file/line']}",
        "",
        "| reader / fault | case class | cases | " + " | ".join(OUTCOMES) + " |",
        "|---|---|---:|" + "---:|" * len(OUTCOMES),
    ]
    for (group, case), counts in sorted(table.items()):
        short = case.split(": ", 1)[1] if case.startswith(group + ": ") else case
        cells = " | ".join(str(counts[o]) if counts[o] else "" for o in OUTCOMES)
        lines.append(f"| {group} | {short} | {sum(counts.values())} | {cells} |")
    cells = " | ".join(f"**{totals[o]}**" for o in OUTCOMES)
    lines.append(f"| **total** | | **{sum(totals.values())}** | {cells} |")
    bad = [(g, c, o, n) for (g, c), counts in sorted(table.items())
           for o, n in counts.items() if o in BAD and n]
    lines += ["", "## Open findings", ""]
    if bad:
        lines.append("Cases counted more than once include Hypothesis' shrinking of a failing example.")
        lines.append("")
        lines += [f"- {c}: {n} × {o}" for g, c, o, n in bad]
    else:
        lines.append("None: every case ended in the expected records or a clear error.")
    if items is not None:
        lines += render_items(items)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate docs/reliability.md from the test suite.")
    parser.add_argument("--from-json", type=Path, help="render recorded counts instead of running the tests")
    parser.add_argument("--output", type=Path, default=DOC, help="the Markdown file to write")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    status, items = None, None
    if args.from_json:
        rows = json.loads(args.from_json.read_text(encoding="utf-8"))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            record, junit = Path(tmp) / "counts.json", Path(tmp) / "junit.xml"
            status = run_suite(record, junit, args.pytest_args)
            rows = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else []
            items = item_outcomes(junit) if junit.is_file() else None
    sys.path.insert(0, str(ROOT / "src"))
    from polyret.atomic import write_text

    text = render(rows, status, items)
    write_text(args.output, text)
    sys.stdout.write(f"wrote {args.output} ({len(rows)} rows)\n")
    bad = any(r["outcome"] in BAD and r["n"] for r in rows)
    uncovered = items is not None and any(passed < run or run == 0 for passed, run in items.values())
    return 1 if (status or bad or uncovered) else 0


if __name__ == "__main__":
    raise SystemExit(main())
