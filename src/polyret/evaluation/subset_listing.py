"""What ``polyret subsets`` shows: each subset of a task with its size and example queries."""

from __future__ import annotations

import textwrap

from polyret.evaluation.evaluator import BM25, EvalConfig
from polyret.evaluation.ir_tasks import load_ir_task, reference_ndcg10, subsample
from polyret.evaluation.subsets import MULTI_PART_RULES, SubsetContext, select_subsets
from polyret.evaluation.tasks import parse_task


def task_subsets(
    task: str, data_dir: str | None = None, split: str = "test", corpus: str | None = None, bm25: bool = True
) -> tuple[SubsetContext, dict[str, dict]]:
    """Select every subset of ``task`` (BEIR or BRIGHT); BM25 runs for ``bm25-failure`` if ``bm25``."""
    spec = parse_task(task)
    if spec.kind not in ("beir", "bright"):
        raise ValueError(f"subsets are defined for beir/... and bright/... tasks, not {task!r}")
    config = EvalConfig(task=task, data_dir=data_dir, split=split, corpus=corpus)
    data = load_ir_task(spec, config)
    ids = subsample(data.qrels, None, 0)
    data.queries = {q: data.queries[q] for q in ids}
    data.qrels = {q: data.qrels[q] for q in ids}
    ref = reference_ndcg10(BM25, None, data, spec, config) if bm25 else None
    ctx = SubsetContext(
        spec.name if spec.kind == "beir" else data.name,
        data.queries,
        data.qrels,
        reference_ndcg10=ref,
        is_bright=spec.kind == "bright",
    )
    return ctx, select_subsets(ctx)


def list_subsets(
    task: str,
    data_dir: str | None = None,
    split: str = "test",
    corpus: str | None = None,
    examples: int = 3,
    bm25: bool = True,
) -> str:
    ctx, subsets = task_subsets(task, data_dir, split, corpus, bm25)
    n = len(ctx.queries)
    lines = [f"{task}: {n} evaluated queries", ""]
    for name, sub in subsets.items():
        if "skipped" in sub:
            lines.append(f"{name}: skipped ({sub['skipped']})")
            continue
        lines.append(
            f"{name}: {sub['size']} queries ({100 * sub['size'] / max(n, 1):.1f}%) - {sub['description']}"
        )
        for qid, reason in list(sub["queries"].items())[:examples]:
            text = textwrap.shorten(ctx.queries[qid].text, 100, placeholder=" ...")
            lines.append(f"    {qid}: {text!r}\n        why: {reason}")
        lines.append("")
    lines.append("multi-part rules: " + "; ".join(f"{k} = {v}" for k, v in MULTI_PART_RULES.items()))
    return "\n".join(lines)
