"""Run-based tasks (BEIR, MIRACL, BRIGHT): retrieve, apply the task's run rules, score per query.

Run rules, applied explicitly to a copy of the run and reported in ``extra``:

- **BEIR**: ``nDCG@10, R@100, AP@100 (MAP), RR@10 (MRR@10)``. A document whose id equals the query
  id is removed from that query's ranking (BEIR's ``ignore_identical_ids``; it matters for ArguAna,
  whose queries are arguments that are also in the corpus). ``top_k + 1`` documents are retrieved
  so a removal still leaves ``top_k``; the number of removed hits is reported.
- **MIRACL**: ``nDCG@10, R@100`` as ``trec_eval -c -M 100``: the run is cut at 100 per query
  (trec_eval's tie order) and the mean is over every query of the qrels, unranked ones scoring 0.
- **BRIGHT**: ``nDCG@10, R@100`` after removing each query's ``excluded_ids`` (BRIGHT's rule).

Documents are embedded as ``title + " " + text`` (BEIR's convention; just the text if untitled).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from polyret.evaluation.evaluator import BM25, EvalConfig, encode_texts, model_info
from polyret.evaluation.metrics import (
    BEIR_MEASURES,
    BRIGHT_MEASURES,
    MIRACL_MEASURES,
    aggregate,
    cut_run,
    drop_self_hits,
    evaluated_queries,
    exclude_docs,
    per_query,
)
from polyret.evaluation.miracl import MIRACL_DEPTH
from polyret.evaluation.results import EvalResult, fingerprint_files
from polyret.evaluation.subsets import SubsetContext, select_subsets
from polyret.evaluation.tasks import TaskSpec
from polyret.retrieval.pipeline import document_text
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
            raise ValueError(f"miracl/{spec.name} needs --corpus: MIRACL's passages are not bundled")
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
            raise ValueError(
                f"bright/{spec.name} needs --corpus DOCS_DIR: BRIGHT's documents are not bundled"
            )
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
    model, corpus: Corpus, queries: Queries, top_k: int, config: EvalConfig, language: str = "en"
) -> tuple[Run, dict[str, float]]:
    """Top-``top_k`` run of a dense model (exact search) or ``"bm25"``; and timings."""
    timings: dict[str, float] = {}
    qids = list(queries)
    t0 = time.perf_counter()
    if model == BM25:
        from polyret.retrieval.bm25 import bm25_search

        run = bm25_search(corpus, {q: queries[q] for q in qids}, top_k=top_k, language=language)
        timings["search_s"] = time.perf_counter() - t0
        return run, timings
    from polyret.retrieval.search import exact_search

    doc_ids = list(corpus)
    d_emb = encode_texts(
        model, [document_text(corpus[d]) for d in doc_ids], "passage", config.batch_size, config.cache
    )
    q_emb = encode_texts(model, [queries[q].text for q in qids], "query", config.batch_size, config.cache)
    timings["encode_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = exact_search(q_emb, d_emb, qids, doc_ids, top_k=top_k)
    timings["search_s"] = time.perf_counter() - t0
    return run, timings


def apply_run_rules(kind: str, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
    """The task's run rules (module docstring) on a copy of ``run``; what was removed."""
    report: dict[str, Any] = {}
    if kind == "beir" and config.drop_self_hits:
        run, removed = drop_self_hits(run)
        report["self_hits_removed"] = sum(removed.values())
        report["self_hit_queries"] = len(removed)
    if kind == "bright" and data.excluded:
        run, removed = exclude_docs(run, data.excluded)
        report["excluded_removed"] = sum(removed.values())
    depth = MIRACL_DEPTH if kind == "miracl" else config.top_k
    run = cut_run(run, depth)
    report["depth"] = depth
    return run, report


def measures_for(kind: str) -> tuple[str, ...]:
    return {"beir": BEIR_MEASURES, "miracl": MIRACL_MEASURES, "bright": BRIGHT_MEASURES}[kind]


def reference_ndcg10(model, run: Run | None, data: IrTaskData, spec: TaskSpec, config: EvalConfig) -> dict:
    """BM25 per-query nDCG@10 for the ``bm25-failure`` subset (the model's own run if it is BM25)."""
    if run is None:
        extra = 1 if spec.kind == "beir" and config.drop_self_hits else 0
        run, _ = retrieve(BM25, data.corpus, data.queries, config.top_k + extra, config, spec.bm25_language)
    run, _ = apply_run_rules(spec.kind, run, data, config)
    return per_query(data.qrels, run, ["nDCG@10"])["nDCG@10"]


def evaluate_ir(model, spec: TaskSpec, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    data = load_ir_task(spec, config)
    ids = subsample(data.qrels, config.max_queries, config.seed)
    n_total = len(evaluated_queries(data.qrels))
    queries = {q: data.queries[q] for q in ids}
    qrels = {q: data.qrels[q] for q in ids}
    data = IrTaskData(data.name, data.corpus, queries, qrels, data.files, data.excluded, n_total, data.info)
    timings["load_s"] = time.perf_counter() - t0

    extra_k = 1 if spec.kind == "beir" and config.drop_self_hits else 0
    extra_k += max((len(v) for v in data.excluded.values()), default=0)
    raw_run, t = retrieve(model, data.corpus, queries, config.top_k + extra_k, config, spec.bm25_language)
    timings.update(t)
    run, rules = apply_run_rules(spec.kind, raw_run, data, config)
    measures = measures_for(spec.kind)
    t0 = time.perf_counter()
    scores = per_query(qrels, run, measures)
    timings["metrics_s"] = time.perf_counter() - t0

    subsets: dict[str, Any] = {}
    if config.subsets and spec.kind in ("beir", "bright"):
        t0 = time.perf_counter()
        ref = reference_ndcg10(model, raw_run if model == BM25 else None, data, spec, config)
        ctx = SubsetContext(
            spec.name if spec.kind == "beir" else data.name,
            queries,
            qrels,
            reference_ndcg10=ref,
            is_bright=spec.kind == "bright",
        )
        subsets = select_subsets(ctx)
        for sub in subsets.values():
            if "queries" in sub:
                sub["metrics"] = aggregate(scores, sub["queries"])
        timings["subsets_s"] = time.perf_counter() - t0
    return EvalResult(
        task=spec.task,
        model=model_info(model, model_name),
        config=asdict(config),
        metrics={"all": aggregate(scores)},
        per_query={"all": scores},
        data={
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
