"""What ``polyret subsets`` shows and pre-registers: each subset of a task, its size and query ids.

:func:`preregister` is the file committed before any trained model is scored: per task, the number
of evaluated queries, every per-dataset subset's rule, size, share and sorted query ids, the BM25
reference's parameters, and the data files' sha256. It needs no dense model (BM25 only) and is
deterministic: the same data and arguments give the same JSON, byte for byte.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from polyret.errors import ConfigError, UserError
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.ir_tasks import IrTaskData, RunTask, subsample
from polyret.evaluation.metrics import evaluated_queries
from polyret.evaluation.registry import find_task
from polyret.evaluation.subsets import (
    BM25_REFERENCE,
    QUERY_SUBSETS,
    SHARE_RANGE,
    SUBSETS,
    SubsetContext,
    select_subsets,
)
from polyret.evaluation.tasks import TaskSpec

NO_BRIGHT_DOCS = "BRIGHT documents not supplied (--corpus): no BM25 run, so no bm25-failure"


def _load(family: RunTask, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
    """The task's evaluated queries and qrels (BRIGHT without documents: topics and qrels only)."""
    if spec.kind == "bright" and config.corpus is None:
        from polyret.data.bright import load_bright

        data = load_bright(spec.name, config.data_dir)
        files = [Path(p) for p in data.files]
        data = IrTaskData(f"bright/{spec.name}", {}, data.queries, data.qrels, files)
    else:
        data = family.load(spec, config)
    ids = evaluated_queries(data.qrels)
    if not ids:
        raise UserError(f"{spec.task}: no query with a relevant judgement in split {config.split!r}")
    data.queries = {q: data.queries[q] for q in ids}
    data.qrels = {q: data.qrels[q] for q in ids}
    return data


def task_subsets(
    task: str,
    data_dir: str | None = None,
    split: str = "test",
    corpus: str | None = None,
    bm25: bool = True,
    names: list[str] | None = None,
) -> tuple[SubsetContext, dict[str, dict], IrTaskData]:
    """Select the subsets ``names`` (default all) of ``task`` (BEIR or BRIGHT) on all its queries.

    BM25 runs for ``bm25-failure`` if ``bm25`` and the documents are there (BRIGHT needs ``corpus``).
    """
    family, spec = find_task(task)
    if not (isinstance(family, RunTask) and family.complex_subsets):
        raise ConfigError(f"--task {task}: subsets are defined for beir/... and bright/... tasks")
    config = EvalConfig(task=task, data_dir=data_dir, split=split, corpus=corpus)
    data = _load(family, spec, config)
    skip: dict[str, str] = {}
    ref = None
    if not data.corpus:
        skip["bm25-failure"] = NO_BRIGHT_DOCS
    elif not bm25:
        skip["bm25-failure"] = "BM25 not run (--no-bm25)"
    else:
        ref = family.reference_ndcg10(None, data, spec, config)
    ctx = SubsetContext(
        spec.name if spec.kind == "beir" else data.name,
        data.queries,
        data.qrels,
        reference_ndcg10=ref,
        is_bright=spec.kind == "bright",
        skip_reasons=skip,
    )
    return ctx, select_subsets(ctx, names), data


def _fingerprints(files: list[Path]) -> dict[str, str]:
    """``folder/name -> sha256`` of the data files read (no absolute paths: same on every machine)."""
    out = {}
    for f in sorted(set(files)):
        with f.open("rb") as fh:
            out["/".join(f.parts[-2:])] = hashlib.file_digest(fh, "sha256").hexdigest()
    return out


def _bm25_record(config: EvalConfig, skipped: str | None) -> dict[str, Any]:
    if skipped:
        return {"skipped": skipped}
    from importlib.metadata import version

    from polyret.retrieval.bm25 import tokenizer_info

    return {**BM25_REFERENCE, "top_k": config.top_k, "self_hits_removed": config.drop_self_hits,
            "tokenizer": tokenizer_info(BM25_REFERENCE["language"]),
            "versions": {p: version(p) for p in ("bm25s", "PyStemmer")}}


def preregister(
    tasks: list[str],
    subsets: list[str] | None = None,
    data_dir: str | None = None,
    split: str = "test",
    corpus: dict[str, str] | None = None,
    max_queries: dict[str, int | None] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{task: {queries, subsets: {name: {kind, rule, size, share, query_ids}}, bm25, data}}``; a task
    whose family has no complex-query subsets (BIRCO) records its evaluated ``query_ids`` instead (the
    suite's subsample where ``max_queries`` names one).

    ``subsets`` defaults to the per-dataset family (:data:`QUERY_SUBSETS`); ``corpus`` maps a BRIGHT
    task to its documents folder. A subset that cannot run says why (``skipped``); one whose share
    is outside :data:`SHARE_RANGE` says so (``outside_range``).
    """
    names = list(subsets) if subsets else list(QUERY_SUBSETS)
    unknown = [n for n in names if n not in SUBSETS]
    if unknown:
        raise ConfigError(f"--subset {unknown[0]!r} is unknown; expected one of {', '.join(SUBSETS)}")
    out: dict[str, dict[str, Any]] = {}
    for task in sorted(dict.fromkeys(tasks)):
        config = EvalConfig(task=task, data_dir=data_dir, split=split, corpus=(corpus or {}).get(task))
        family, spec = find_task(task)
        if not (isinstance(family, RunTask) and family.complex_subsets):  # e.g. BIRCO: the whole set
            # the queries the runner will score: its suites subsample with seed 0
            data = family.load_evaluated(spec, replace(config, max_queries=(max_queries or {}).get(task),
                                                       seed=0))
            out[task] = {"queries": len(data.queries), "split": split, "subsets": {},
                         "query_ids": sorted(data.queries), "data": _fingerprints(data.files)}
            continue
        ctx, chosen, data = task_subsets(task, data_dir, split, config.corpus, True, names)
        cap = (max_queries or {}).get(task)
        scored = set(subsample(data.qrels, cap, 0))  # a subsampled suite scores these (seed 0)
        entries = {}
        for name, sub in chosen.items():
            entry = {k: v for k, v in sub.items() if k != "queries"}
            entry["rule"] = SUBSETS[name].rule
            if "share" in entry:
                entry["share"] = round(entry["share"], 4)
            if "queries" in sub:
                entry["query_ids"] = sorted(set(sub["queries"]) & scored)
                if cap is not None:  # selected on every query, tested on the suite's subsample
                    entry["size"], entry["max_queries"] = len(entry["query_ids"]), cap
            entries[name] = entry
        out[task] = {
            "queries": len(ctx.queries),
            "split": split,
            "share_range": list(SHARE_RANGE),
            "subsets": entries,
            "bm25": _bm25_record(config, ctx.skip_reasons.get("bm25-failure")),
            "data": _fingerprints(data.files),
        }
    return out


def size_table(prereg: dict[str, dict[str, Any]]) -> str:
    """One line per task and subset: size, share, and any flag (the closing note's table)."""
    lines = []
    for task, entry in prereg.items():
        n = entry["queries"]
        for name, sub in entry["subsets"].items():
            if "skipped" in sub:
                lines.append(f"{task}  {name}: skipped ({sub['skipped']})")
                continue
            flag = f"  [{sub['outside_range']}]" if "outside_range" in sub else ""
            lines.append(f"{task}  {name}: {sub['size']}/{n} ({100 * sub['share']:.1f}%){flag}")
    return "\n".join(lines)


def list_subsets(
    task: str,
    data_dir: str | None = None,
    split: str = "test",
    corpus: str | None = None,
    examples: int = 3,
    bm25: bool = True,
) -> str:
    """Each subset of ``task`` with its size, share, rule and ``examples`` queries with reasons."""
    ctx, subsets, _ = task_subsets(task, data_dir, split, corpus, bm25)
    n = len(ctx.queries)
    lines = [f"{task}: {n} evaluated queries", ""]
    for name, sub in subsets.items():
        if "skipped" in sub:
            lines += [f"{name}: skipped ({sub['skipped']})", ""]
            continue
        flag = f" [{sub['outside_range']}]" if "outside_range" in sub else ""
        lines.append(f"{name} ({sub['kind']}): {sub['size']} queries ({100 * sub['share']:.1f}%){flag}")
        lines.append(f"    rule: {sub['rule']}")
        for qid, reason in list(sub["queries"].items())[:examples]:
            text = textwrap.shorten(ctx.queries[qid].text, 100, placeholder=" ...")
            lines.append(f"    {qid}: {text!r}\n        why: {reason}")
        lines.append("")
    return "\n".join(lines).rstrip()
