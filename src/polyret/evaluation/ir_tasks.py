"""Run-based task families (BEIR, MIRACL, BRIGHT, BIRCO): :class:`RunTask` loads, retrieves,
applies the family's run rules, scores per query and keeps the ranking.

Retrieval is the one search path, :func:`polyret.retrieval.pipeline.retrieve` (BM25 or a dense
model; documents as ``title + " " + text``) to the family's :meth:`RunTask.depth` (``top_k`` plus
what the rules may remove, so a removal still leaves ``top_k``). A family supplies
:meth:`RunTask.load`, :meth:`RunTask.apply_rules` and ``measures`` (reported in
``extra["run_rules"]``); the same rules score an external run (``polyret score``,
:meth:`RunTask.score_external`). The run that was scored is returned with the result
(:class:`Scored`), cut to :meth:`RunTask.kept_depth`, for the caller to keep.

An evaluation with no query to score is refused with a one-line :class:`polyret.errors.UserError`
naming the qrels file: an empty or header-only qrels file, or qrels whose relevant documents are
all missing from the corpus (the reader drops those rows with a warning).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from polyret.errors import UserError
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.encoding import evaluation_settings, model_info
from polyret.evaluation.metrics import aggregate, cut_run, evaluated_queries, per_query
from polyret.evaluation.results import EvalResult, fingerprint_files
from polyret.evaluation.tasks import TaskFamily, TaskSpec
from polyret.retrieval.retriever import BM25, Retriever, is_lexical
from polyret.types import Corpus, Qrels, Queries, Run

log = logging.getLogger(__name__)
KEPT_DEPTH = 100  # documents per query kept of every evaluated run


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
    pools: dict[str, list[str]] | None = None  # BIRCO: each query's candidate documents


@dataclass
class Scored:
    """Per-query scores of a run under a task's rules, what the rules removed, the run scored."""

    scores: dict[str, dict[str, float]]  # measure -> query id -> value
    rules: dict[str, Any]
    run: Run  # after the rules, cut to the task's kept depth


def subsample(qrels: Qrels, max_queries: int | None, seed: int) -> list[str]:
    """The evaluated query ids, or ``max_queries`` of them drawn with ``seed`` (sorted)."""
    ids = evaluated_queries(qrels)
    if max_queries is None or max_queries >= len(ids):
        return ids
    rng = np.random.default_rng(seed)
    return sorted(ids[i] for i in rng.choice(len(ids), size=max_queries, replace=False))


def retrieve(model: Retriever, corpus: Corpus, queries: Queries, depth: int, config: EvalConfig,
             language: str = "en", precision: str | None = None) -> tuple[Run, dict[str, float]]:
    """Top-``depth`` run (exact search) through :func:`polyret.retrieval.pipeline.retrieve`; and
    timings. The run rules come after."""
    from polyret.retrieval.pipeline import retrieve as search

    run, info = search(model, corpus, queries, top_k=depth, batch_size=config.batch_size,
                       precision=precision, cache=config.cache, language=language, show_progress=True)
    timings = {"encode_s": info["encode_seconds"]} if "encode_seconds" in info else {}
    timings["search_s"] = info["search_seconds"]
    return run, timings


def _check_queries(data: IrTaskData, spec: TaskSpec) -> None:
    """Refuse an evaluation with nothing to score (one line naming the qrels file)."""
    if evaluated_queries(data.qrels):
        return
    qrels_file = next((str(f) for f in data.files if "qrels" in str(f)), spec.task)
    dropped = data.info.get("skipped_qrels", 0)
    why = (f"all {dropped} judgements name documents missing from the corpus" if dropped
           else "no judgement with relevance > 0 (empty or header-only?)")
    raise UserError(f"{qrels_file}: no query to evaluate: {why}")


class RunTask(TaskFamily):
    """A family whose evaluation is a ranked run scored against qrels (see the module docstring)."""

    measures: ClassVar[tuple[str, ...]]
    complex_subsets: ClassVar[bool] = False  # whether polyret's complex-query subsets apply

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        """Corpus, queries and qrels of the task (every query; subsampling comes after)."""
        raise NotImplementedError

    def prepare(self, config: EvalConfig) -> EvalConfig:
        """The config the family evaluates with (a family may fill in its defaults)."""
        return config

    def depth(self, data: IrTaskData, config: EvalConfig) -> int:
        """Documents to retrieve per query, so that the rules still leave ``top_k``."""
        return config.top_k

    def apply_rules(self, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
        """The family's run rules on a copy of ``run``; and what they removed."""
        return cut_run(run, config.top_k), {"depth": config.top_k}

    def kept_depth(self, data: IrTaskData) -> int:
        """Documents per query kept of the scored run (enough for every measure to read)."""
        return KEPT_DEPTH

    def score(self, run: Run, data: IrTaskData, config: EvalConfig) -> Scored:
        """Per-query scores of ``run`` under the family's rules (module docstring)."""
        kept, rules = self.apply_rules(run, data, config)
        return Scored(per_query(data.qrels, kept, self.measures), rules, cut_run(kept, self.kept_depth(data)))

    def reference_ndcg10(self, run: Run | None, data: IrTaskData, spec: TaskSpec, config: EvalConfig) -> dict:
        """BM25 per-query nDCG@10 for the ``bm25-failure`` subset (``run``: BM25's own, if given)."""
        if run is None:
            depth = self.depth(data, config)
            run, _ = retrieve(BM25, data.corpus, data.queries, depth, config, spec.language)
        return self.score(run, data, config).scores["nDCG@10"]

    def subsets(self, model: Retriever, raw_run: Run, data: IrTaskData, spec: TaskSpec,
                config: EvalConfig, scores: dict) -> dict[str, Any]:
        """The complex-query subsets with their metrics."""
        from polyret.evaluation.subsets import SubsetContext, select_subsets

        ref = self.reference_ndcg10(raw_run if is_lexical(model) else None, data, spec, config)
        ctx = SubsetContext(spec.name if spec.kind == "beir" else data.name, data.queries, data.qrels,
                            reference_ndcg10=ref, is_bright=spec.kind == "bright")
        subsets = select_subsets(ctx)
        for sub in subsets.values():
            if "queries" in sub:
                sub["metrics"] = aggregate(scores, sub["queries"])
        return subsets

    def load_evaluated(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        """:meth:`load`, checked, restricted to the evaluated (possibly subsampled) queries."""
        data = self.load(spec, config)
        _check_queries(data, spec)
        ids = subsample(data.qrels, config.max_queries, config.seed)
        n_total = len(evaluated_queries(data.qrels))
        pools = None if data.pools is None else {q: data.pools[q] for q in ids}
        return replace(data, queries={q: data.queries[q] for q in ids}, qrels={q: data.qrels[q] for q in ids},
                       n_queries_total=n_total, pools=pools)

    def evaluate(self, retriever: Retriever, spec: TaskSpec, config: EvalConfig,
                 model_name: str | None = None) -> EvalResult:
        result, _ = self.evaluate_with_run(retriever, spec, config, model_name)
        return result

    def evaluate_with_run(self, retriever: Retriever, spec: TaskSpec, config: EvalConfig,
                          model_name: str | None = None) -> tuple[EvalResult, Run]:
        """Retrieve, apply the rules, score; the result and the run that was scored (kept depth)."""
        config = self.prepare(config)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data = self.load_evaluated(spec, config)
        timings["load_s"] = time.perf_counter() - t0
        with evaluation_settings(retriever, config) as settings:
            precision = settings.get("precision", {}).get("used")
            raw_run, t = retrieve(retriever, data.corpus, data.queries, self.depth(data, config), config,
                                  spec.language, precision)
        timings.update(t)
        t0 = time.perf_counter()
        scored = self.score(raw_run, data, config)
        timings["metrics_s"] = time.perf_counter() - t0
        subsets: dict[str, Any] = {}
        if config.subsets and self.complex_subsets:
            t0 = time.perf_counter()
            subsets = self.subsets(retriever, raw_run, data, spec, config, scored.scores)
            timings["subsets_s"] = time.perf_counter() - t0
        result = self.result(spec, config, data, scored, model_info(retriever, model_name), settings)
        result.subsets, result.timings = subsets, timings
        return result, scored.run

    def result(self, spec: TaskSpec, config: EvalConfig, data: IrTaskData, scored: Scored,
               model: dict[str, Any], settings: dict[str, Any]) -> EvalResult:
        """The :class:`EvalResult` of scored per-query values (``evaluate`` and ``score`` alike)."""
        return EvalResult(
            task=spec.task, model=model, config=asdict(config), settings=settings,
            metrics={"all": aggregate(scored.scores)}, per_query={"all": scored.scores},
            data={"source": "folder" if spec.folder is not None else "catalog",
                  "files": fingerprint_files(data.files), "documents": len(data.corpus),
                  "queries": len(data.queries), "queries_total": data.n_queries_total,
                  "subsampled": len(data.queries) < data.n_queries_total, **data.info},
            extra={"run_rules": scored.rules},
        )

    def score_external(self, run: Run, spec: TaskSpec, config: EvalConfig, source: str) -> EvalResult:
        """Score a run made elsewhere (``polyret score``) under this family's rules, with the
        complex-query subsets if ``config.subsets``; ids that are not the task's are refused,
        naming ``source``."""
        config = self.prepare(config)
        full = self.load(spec, config)
        unknown_q = sorted(set(run) - set(full.queries))
        if unknown_q:
            raise UserError(f"{source}: query {unknown_q[0]!r} is not a query of {spec.task} "
                            f"({len(unknown_q)} unknown query id(s))")
        unknown_d = sorted({d for docs in run.values() for d in docs} - set(full.corpus))
        if unknown_d:
            raise UserError(f"{source}: document {unknown_d[0]!r} is not in the corpus of {spec.task} "
                            f"({len(unknown_d)} unknown document id(s))")
        data = self.load_evaluated(spec, config)
        run = {q: docs for q, docs in run.items() if q in data.queries}
        scored = self.score(run, data, config)
        model = {"name": Path(source).name, "kind": "run", "run_file": fingerprint_files([source])}
        result = self.result(spec, config, data, scored, model, {"kind": "run"})
        if config.subsets and self.complex_subsets:
            result.subsets = self.subsets(_EXTERNAL, run, data, spec, config, scored.scores)
        return result


_EXTERNAL = object()  # an external run's retriever: not BM25, so subsets run the BM25 reference
