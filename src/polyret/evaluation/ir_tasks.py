"""Run-based tasks (BEIR, MIRACL, BRIGHT): load, retrieve, apply the task's run rules, score per query.

Retrieval is the one search path, :func:`polyret.retrieval.pipeline.retrieve` (BM25 or a dense
model; documents as ``title + " " + text``); ``top_k`` plus the documents the run rules may remove
are retrieved, so a removal still leaves ``top_k``. The run rules and measures of each task are in
:mod:`polyret.evaluation.run_rules` (reported in ``extra["run_rules"]``).

An evaluation with no query to score is refused with a one-line :class:`polyret.errors.UserError`
naming the qrels file: an empty or header-only qrels file, or qrels whose relevant documents are
all missing from the corpus (the reader drops those rows with a warning).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from polyret.errors import UserError
from polyret.evaluation.config import BM25, EvalConfig
from polyret.evaluation.encoding import evaluation_settings, model_info
from polyret.evaluation.metrics import aggregate, evaluated_queries
from polyret.evaluation.results import EvalResult, fingerprint_files
from polyret.evaluation.run_rules import extra_depth, score_run
from polyret.evaluation.subsets import SubsetContext, select_subsets
from polyret.evaluation.tasks import TaskSpec
from polyret.types import Corpus, Qrels, Queries, Run

log = logging.getLogger(__name__)


@dataclass
class IrTaskData:
    """What a run-based task needs, whatever its source format."""

    name: str
    corpus: Corpus
    queries: Queries  # the evaluated queries (after subsampling)
    qrels: Qrels
    files: list[Path] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)  # BRIGHT excluded_ids
    n_queries_total: int = 0
    info: dict[str, Any] = field(default_factory=dict)


def load_ir_task(spec: TaskSpec, config: EvalConfig) -> IrTaskData:
    """Load the corpus, queries and qrels of a BEIR / MIRACL / BRIGHT task."""
    if spec.kind == "beir":
        from polyret.data.beir import load_beir

        folder = spec.folder
        if folder is None:
            from polyret.data.catalog import dataset_path

            folder = dataset_path(f"beir/{spec.name}", config.data_dir)
        data = load_beir(folder, split=config.split)
        files = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{config.split}.tsv"]
        return IrTaskData(
            spec.name,
            data.corpus,
            data.queries,
            data.qrels,
            [f for f in files if f.exists()],
            info={"skipped_qrels": getattr(data, "skipped_qrels", 0), "split": config.split},
        )
    if spec.kind == "miracl":
        from polyret.data.miracl import load_miracl

        if config.corpus is None:
            raise UserError(f"miracl/{spec.name} needs --corpus: MIRACL's passages are not bundled")
        split = "dev" if config.split == "test" else config.split
        data = load_miracl(spec.name, split=split, data_dir=config.data_dir, corpus=config.corpus)
        return IrTaskData(
            f"miracl/{spec.name}",
            data.corpus,
            data.queries,
            data.qrels,
            [Path(p) for p in getattr(data, "files", [])] + [Path(config.corpus)],
            info={"split": split},
        )
    if spec.kind == "bright":
        from polyret.data.bright import load_bright

        if config.corpus is None:
            raise UserError(f"bright/{spec.name} needs --corpus DOCS_DIR: BRIGHT's documents are not bundled")
        data = load_bright(spec.name, config.data_dir, config.corpus)
        return IrTaskData(
            f"bright/{spec.name}",
            data.corpus,
            data.queries,
            data.qrels,
            [Path(p) for p in getattr(data, "files", [])],
            excluded={q: list(v) for q, v in getattr(data, "excluded", {}).items()},
        )
    raise ValueError(f"not a run-based task: {spec.task}")


def subsample(qrels: Qrels, max_queries: int | None, seed: int) -> list[str]:
    """The evaluated query ids, or ``max_queries`` of them drawn with ``seed`` (sorted)."""
    ids = evaluated_queries(qrels)
    if max_queries is None or max_queries >= len(ids):
        return ids
    rng = np.random.default_rng(seed)
    return sorted(ids[i] for i in rng.choice(len(ids), size=max_queries, replace=False))


def retrieve(
    model, corpus: Corpus, queries: Queries, depth: int, config: EvalConfig, language: str = "en",
    precision: str | None = None,
) -> tuple[Run, dict[str, float]]:
    """Top-``depth`` run of a dense model (exact search) or ``"bm25"`` through the one retrieval
    path (:func:`polyret.retrieval.pipeline.retrieve`); and timings. The run rules come after."""
    from polyret.retrieval.pipeline import retrieve as search

    run, info = search(model, corpus, queries, top_k=depth, batch_size=config.batch_size,
                       precision=precision, cache=config.cache, language=language, show_progress=True)
    timings = {"encode_s": info["encode_seconds"]} if "encode_seconds" in info else {}
    timings["search_s"] = info["search_seconds"]
    return run, timings


def _score(kind: str, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[dict, dict[str, Any]]:
    return score_run(kind, data.qrels, run, config.top_k, config.drop_self_hits, data.excluded)


def reference_ndcg10(model, run: Run | None, data: IrTaskData, spec: TaskSpec, config: EvalConfig) -> dict:
    """BM25 per-query nDCG@10 for the ``bm25-failure`` subset (the model's own run if it is BM25)."""
    if run is None:
        depth = config.top_k + extra_depth(spec.kind, config.drop_self_hits, data.excluded)
        run, _ = retrieve(BM25, data.corpus, data.queries, depth, config, spec.bm25_language)
    return _score(spec.kind, run, data, config)[0]["nDCG@10"]


def _check_queries(data: IrTaskData, spec: TaskSpec) -> None:
    """Refuse an evaluation with nothing to score (one line naming the qrels file)."""
    if evaluated_queries(data.qrels):
        return
    qrels_file = next((str(f) for f in data.files if "qrels" in str(f)), spec.task)
    dropped = data.info.get("skipped_qrels", 0)
    why = (f"all {dropped} judgements name documents missing from the corpus" if dropped
           else "no judgement with relevance > 0 (empty or header-only?)")
    raise UserError(f"{qrels_file}: no query to evaluate: {why}")


def _subsets(model, raw_run: Run, data: IrTaskData, spec: TaskSpec, config: EvalConfig,
             scores: dict) -> dict[str, Any]:
    """The complex-query subsets (BEIR, BRIGHT) with their metrics."""
    ref = reference_ndcg10(model, raw_run if model == BM25 else None, data, spec, config)
    ctx = SubsetContext(
        spec.name if spec.kind == "beir" else data.name,
        data.queries,
        data.qrels,
        reference_ndcg10=ref,
        is_bright=spec.kind == "bright",
    )
    subsets = select_subsets(ctx)
    for sub in subsets.values():
        if "queries" in sub:
            sub["metrics"] = aggregate(scores, sub["queries"])
    return subsets


def evaluate_ir(model, spec: TaskSpec, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    """Retrieve, apply the run rules and score ``model`` (or ``"bm25"``) on one run-based task."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    data = load_ir_task(spec, config)
    _check_queries(data, spec)
    ids = subsample(data.qrels, config.max_queries, config.seed)
    n_total = len(evaluated_queries(data.qrels))
    queries = {q: data.queries[q] for q in ids}
    qrels = {q: data.qrels[q] for q in ids}
    data = IrTaskData(data.name, data.corpus, queries, qrels, data.files, data.excluded, n_total, data.info)
    timings["load_s"] = time.perf_counter() - t0

    depth = config.top_k + extra_depth(spec.kind, config.drop_self_hits, data.excluded)
    with evaluation_settings(model, config) as settings:
        precision = settings.get("precision", {}).get("used")
        raw_run, t = retrieve(model, data.corpus, queries, depth, config, spec.bm25_language, precision)
    timings.update(t)
    t0 = time.perf_counter()
    scores, rules = _score(spec.kind, raw_run, data, config)
    timings["metrics_s"] = time.perf_counter() - t0

    subsets: dict[str, Any] = {}
    if config.subsets and spec.kind in ("beir", "bright"):
        t0 = time.perf_counter()
        subsets = _subsets(model, raw_run, data, spec, config, scores)
        timings["subsets_s"] = time.perf_counter() - t0
    return EvalResult(
        task=spec.task,
        model=model_info(model, model_name),
        config=asdict(config),
        settings=settings,
        metrics={"all": aggregate(scores)},
        per_query={"all": scores},
        data={
            "source": "folder" if spec.folder is not None else "catalog",
            "files": fingerprint_files(data.files),
            "documents": len(data.corpus),
            "queries": len(ids),
            "queries_total": n_total,
            "subsampled": len(ids) < n_total,
            **data.info,
        },
        subsets=subsets,
        extra={"run_rules": rules},
        timings=timings,
    )
