"""``evaluate(model, EvalConfig)``: one task, one model -> :class:`EvalResult`. The CLI calls this.

- LAReQA tasks (XQuAD-R, MLQA-R): encode every question and candidate once, then Mono, Cross and
  Multi metrics and language bias (:mod:`polyret.evaluation.lareqa`, ``language_bias``).
- Run-based tasks (BEIR, MIRACL, BRIGHT): retrieve the top ``top_k`` per query (dense exact search
  or BM25), apply the task's documented run rules (:mod:`polyret.evaluation.ir_tasks`), score per
  query with ``ir_measures`` and score every pre-registered complex-query subset.

``max_queries`` subsamples queries with ``seed`` (LAReQA: question ids, the same in every language);
pools and corpora always stay whole. The result records that it is a subsample.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from polyret.evaluation.language_bias import language_bias
from polyret.evaluation.lareqa import (
    CANDIDATE_TEXTS,
    LareqaIndex,
    candidate_text,
    lareqa_metrics,
    subsample_questions,
)
from polyret.evaluation.results import EvalResult, fingerprint_files
from polyret.evaluation.tasks import TaskSpec, parse_task

log = logging.getLogger(__name__)

PER_QUERY_METRICS = ("mAP", "MRR", "R@1", "R@10")  # kept per query for LAReQA (Success@k: aggregate only)
BM25 = "bm25"


@dataclass
class EvalConfig:
    """Resolved evaluation settings (saved in the result)."""

    task: str
    data_dir: str | None = None
    split: str = "test"  # BEIR qrels split; MIRACL uses "dev"
    batch_size: int = 64
    max_queries: int | None = None  # subsample (seeded); None = all
    seed: int = 0
    candidate_text: str = "sentence"  # LAReQA: sentence | sentence+context
    languages: list[str] | None = None  # LAReQA: restrict the pool and queries to these languages
    top_k: int = 100
    drop_self_hits: bool = True  # BEIR: remove a query's own id from its ranking (ArguAna)
    max_passage_length: int | None = None  # override the model's passage truncation
    corpus: str | None = None  # MIRACL corpus (jsonl / folder) or BRIGHT documents folder
    subsets: bool = True  # score the complex-query subsets (BEIR, BRIGHT)
    cache: bool = True  # use the embedding cache

    def __post_init__(self) -> None:
        parse_task(self.task)
        if self.candidate_text not in CANDIDATE_TEXTS:
            raise ValueError(f"candidate_text={self.candidate_text!r}; expected one of {CANDIDATE_TEXTS}")
        if self.max_queries is not None and self.max_queries < 1:
            raise ValueError("max_queries must be >= 1")
        if self.top_k < 1:
            raise ValueError("top_k must be >= 1")


def load_retriever(name: str, max_passage_length: int | None = None):
    """``"bm25"`` or a model name/folder (``polyret.modeling.registry.load_model``)."""
    if name == BM25:
        return BM25
    from polyret.modeling.registry import load_model

    model = load_model(name)
    if max_passage_length is not None and hasattr(model, "config"):
        model.config = dataclasses.replace(model.config, max_passage_length=max_passage_length)
    return model


def model_info(model, name: str | None = None) -> dict[str, Any]:
    if model == BM25:
        return {"name": BM25, "kind": "bm25"}
    info: dict[str, Any] = {"name": name or getattr(model, "name", type(model).__name__), "kind": "dense"}
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "to_dict"):
        info["encoder_config"] = cfg.to_dict()
    for attr in ("name_or_path", "source", "path"):
        if getattr(model, attr, None) is not None:
            info[attr] = str(getattr(model, attr))
    return info


def encode_texts(model, texts: list[str], side: str, batch_size: int, cache: bool = True) -> np.ndarray:
    """``model.encode`` with a progress bar and the embedding cache when the model supports them."""
    params = inspect.signature(model.encode).parameters
    kwargs: dict[str, Any] = {"batch_size": batch_size}
    if "show_progress" in params:
        kwargs["show_progress"] = True
    if cache and "cache" in params:
        from polyret.retrieval.cache import EmbeddingCache

        kwargs["cache"] = EmbeddingCache()
    return np.asarray(model.encode(texts, side=side, **kwargs), dtype=np.float32)


def evaluate(model, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    """Evaluate ``model`` (a BiEncoder, or ``"bm25"``) on ``config.task``."""
    spec = parse_task(config.task)
    if spec.kind == "lareqa":
        if model == BM25:
            raise ValueError(
                "BM25 is not a LAReQA baseline here (the pools are multilingual); use a dense model"
            )
        return evaluate_lareqa(model, spec, config, model_name)
    from polyret.evaluation.ir_tasks import evaluate_ir

    return evaluate_ir(model, spec, config, model_name)


def evaluate_lareqa(model, spec: TaskSpec, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    from polyret.data.catalog import dataset_path
    from polyret.data.lareqa import load_lareqa

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    folder = spec.folder or dataset_path(spec.name, config.data_dir)
    data = load_lareqa(folder, config.languages)
    questions = data.questions
    if config.max_queries is not None:
        questions = subsample_questions(questions, config.max_queries, seed=config.seed)
    index = LareqaIndex.from_data(data, questions)
    timings["load_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    q_emb = encode_texts(model, [q.text for q in index.queries], "query", config.batch_size, config.cache)
    c_emb = encode_texts(
        model,
        [candidate_text(c, config.candidate_text) for c in index.candidates],
        "passage",
        config.batch_size,
        config.cache,
    )
    timings["encode_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = lareqa_metrics(q_emb, c_emb, index)
    langs, counts = np.unique(index.cand_langs, return_counts=True)
    share = {str(lang): float(n / counts.sum()) for lang, n in zip(langs, counts, strict=True)}
    bias = language_bias(m, cand_share=share)
    timings["metrics_s"] = time.perf_counter() - t0

    per_query = {
        s: {k: v for k, v in cols.items() if k in PER_QUERY_METRICS} for s, cols in m.per_query.items()
    }
    per_query["multi"]["rank_distance"] = bias["per_query"]["rank_distance"]
    per_query["multi"]["own_language_top10"] = bias["per_query"]["own_language_top10"]
    metrics = {s: dict(v) for s, v in m.settings.items()}
    metrics["bias"] = dict(bias["macro"])
    n_ids = len({q.question_id for q in index.queries})
    return EvalResult(
        task=spec.task,
        model=model_info(model, model_name),
        config=asdict(config),
        metrics=metrics,
        per_query=per_query,
        data={
            "files": fingerprint_files([folder / f"{lang}.json" for lang in data.languages]),
            "languages": list(data.languages),
            "questions": {lang: len(qs) for lang, qs in questions.items()},
            "question_ids": n_ids,
            "candidates": {str(k): int(v) for k, v in zip(langs, counts, strict=True)},
            "subsampled": config.max_queries is not None and n_ids < len(data.question_languages()),
        },
        per_language={"metrics": m.per_language, "bias": bias["per_language"]},
        pairs={"metrics": m.pairs, "queries": m.pair_sizes},
        extra={
            "language_bias": bias["macro"],
            "notes": "Mono/Cross: R@k = Success@k (one relevant); Cross macro = mean over ordered pairs",
        },
        timings=timings,
    )
