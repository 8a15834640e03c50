"""``evaluate(retriever, EvalConfig)``: one task, one retriever -> :class:`EvalResult`. The CLI and the
experiment runner call this.

The task's family (:mod:`polyret.evaluation.registry`) evaluates: LAReQA tasks
(:mod:`polyret.evaluation.lareqa_task`), run-based tasks (BEIR, MIRACL, BRIGHT, BIRCO:
:mod:`polyret.evaluation.ir_tasks`). Every family encodes with the evaluation's lengths and precision
(:class:`EvalConfig`, recorded in ``EvalResult.settings``). ``max_queries`` subsamples queries with
``seed`` (LAReQA: question ids, the same in every language); pools and corpora always stay whole; the
result says it is a subsample. :func:`evaluate_keeping_run` also returns the ranking that was scored
(run-based tasks), for the caller to keep (:mod:`polyret.evaluation.kept_runs`).
"""

from __future__ import annotations

from polyret.evaluation.config import BM25, EvalConfig
from polyret.evaluation.encoding import encode_texts, load_retriever, model_info
from polyret.evaluation.ir_tasks import RunTask
from polyret.evaluation.registry import find_task
from polyret.evaluation.results import EvalResult
from polyret.retrieval.retriever import Retriever
from polyret.types import Run

__all__ = ["BM25", "EvalConfig", "EvalResult", "encode_texts", "evaluate", "evaluate_keeping_run",
           "load_retriever", "model_info"]


def evaluate(retriever: Retriever, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    """Evaluate ``retriever`` (a dense model or BM25) on ``config.task``."""
    family, spec = find_task(config.task)
    return family.evaluate(retriever, spec, config, model_name)


def evaluate_keeping_run(retriever: Retriever, config: EvalConfig,
                         model_name: str | None = None) -> tuple[EvalResult, Run | None]:
    """:func:`evaluate`, and the run it scored (``None`` for a task without one: LAReQA)."""
    family, spec = find_task(config.task)
    if isinstance(family, RunTask):
        return family.evaluate_with_run(retriever, spec, config, model_name)
    return family.evaluate(retriever, spec, config, model_name), None
