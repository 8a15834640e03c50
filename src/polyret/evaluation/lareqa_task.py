"""LAReQA tasks (XQuAD-R, MLQA-R, ``lareqa/FOLDER``): load, encode once, score Mono/Cross/Multi and bias.

Every question and candidate is encoded once with the evaluation's lengths and precision
(:func:`polyret.evaluation.encoding.evaluation_settings`); the metrics are
:func:`polyret.evaluation.lareqa.lareqa_metrics` and :func:`polyret.evaluation.language_bias.language_bias`.
A language without questions (an empty file, or none left after ``max_queries``) is refused: its
macro-average would be undefined.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from polyret.errors import UserError
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.encoding import encode_texts, evaluation_settings, model_info
from polyret.evaluation.language_bias import language_bias
from polyret.evaluation.lareqa import LareqaIndex, candidate_text, lareqa_metrics, subsample_questions
from polyret.evaluation.results import EvalResult, fingerprint_files
from polyret.evaluation.schema import PER_QUERY_LAREQA
from polyret.evaluation.tasks import TaskFamily, TaskSpec
from polyret.retrieval.retriever import Retriever, is_lexical


def _check_languages(questions: dict[str, list], languages: list[str],
    folder: Path, subsampled: bool) -> None:
    empty = [lang for lang in languages if not questions.get(lang)]
    if not empty:
        return
    where = ", ".join(str(folder / f"{lang}.json") for lang in empty)
    if subsampled:
        raise UserError(f"{where}: no questions left after max_queries subsampling; raise max_queries "
                        "or restrict languages")
    raise UserError(f"{where}: no questions (an empty LAReQA language cannot be evaluated)")


def evaluate_lareqa(model, spec: TaskSpec, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    """Mono, Cross, Multi metrics and language bias of a dense ``model`` on one LAReQA task."""
    from polyret.data.catalog import dataset_path
    from polyret.data.lareqa import load_lareqa

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    folder = Path(spec.folder or dataset_path(spec.name, config.data_dir))
    data = load_lareqa(folder, config.languages)
    _check_languages(data.questions, list(data.languages), folder, subsampled=False)
    questions = data.questions
    if config.max_queries is not None:
        questions = subsample_questions(questions, config.max_queries, seed=config.seed)
        _check_languages(questions, list(data.languages), folder, subsampled=True)
    index = LareqaIndex.from_data(data, questions)
    timings["load_s"] = time.perf_counter() - t0

    with evaluation_settings(model, config) as settings:
        t0 = time.perf_counter()
        precision = settings["precision"]["used"]
        q_emb = encode_texts(model, [q.text for q in index.queries], "query", config.batch_size,
                             config.cache, precision)  # (Q, D)
        c_texts = [candidate_text(c, config.candidate_text) for c in index.candidates]
        c_emb = encode_texts(model, c_texts, "passage", config.batch_size, config.cache, precision)  # (C, D)
        timings["encode_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = lareqa_metrics(q_emb, c_emb, index)
    langs, counts = np.unique(index.cand_langs, return_counts=True)
    share = {str(lang): float(n / counts.sum()) for lang, n in zip(langs, counts, strict=True)}
    bias = language_bias(m, cand_share=share)
    timings["metrics_s"] = time.perf_counter() - t0

    per_query = {s: {k: v for k, v in cols.items() if k in PER_QUERY_LAREQA}
                 for s, cols in m.per_query.items()}
    per_query["bias"] = {"rank_distance": bias["per_query"]["rank_distance"],
                         "own_language_top10": bias["per_query"]["own_language_top10"]}
    metrics = {s: dict(v) for s, v in m.settings.items()}
    metrics["bias"] = dict(bias["macro"])
    n_ids = len({q.question_id for q in index.queries})
    return EvalResult(
        task=spec.task,
        model=model_info(model, model_name),
        config=asdict(config),
        settings=settings,
        metrics=metrics,
        per_query=per_query,
        data={
            "source": "folder" if spec.folder is not None else "catalog",
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
            "notes": "AP is average precision over the full ranking (its mean: LAReQA's mAP); "
            "Mono/Cross: RR = AP and R@k = Success@k (one relevant); Cross macro = mean over ordered pairs; "
            "ties: pessimistic (sklearn's average_precision_score)",
        },
        timings=timings,
    )


class LareqaTask(TaskFamily):
    """LAReQA retrieval (module docstring): ``xquad-r``, ``mlqa-r`` or ``lareqa/FOLDER`` (any folder of
    LAReQA-format ``<lang>.json`` files, e.g. a user's own pool). Dense models only: the pools are
    multilingual, so BM25 is no baseline here."""

    kind = "lareqa"
    help = "xquad-r | mlqa-r | lareqa/FOLDER"
    names = ("xquad-r", "mlqa-r")
    accepts_bm25 = False

    def parse(self, task: str, rest: str) -> TaskSpec:
        if task in self.names:
            return TaskSpec(self.kind, task)
        path = Path(rest).expanduser()
        if not path.is_dir():
            raise ValueError(f"task {task!r}: folder {path} does not exist")
        return TaskSpec(self.kind, path.name, path)

    def evaluate(self, retriever: Retriever, spec: TaskSpec, config: EvalConfig,
                 model_name: str | None = None) -> EvalResult:
        if is_lexical(retriever):
            raise UserError("BM25 is not a LAReQA baseline here (the pools are multilingual): "
                            "use a dense model")
        return evaluate_lareqa(retriever, spec, config, model_name)
