"""``evaluate(model, EvalConfig)``: one task, one model -> :class:`EvalResult`. The CLI and the
experiment runner call this.

- LAReQA tasks (XQuAD-R, MLQA-R, ``lareqa/FOLDER``): :mod:`polyret.evaluation.lareqa_task`.
- Run-based tasks (BEIR, MIRACL, BRIGHT): :mod:`polyret.evaluation.ir_tasks`.

Both encode with the evaluation's lengths and precision (:class:`EvalConfig`, recorded in
``EvalResult.settings``). ``max_queries`` subsamples queries with ``seed`` (LAReQA: question ids,
the same in every language); pools and corpora always stay whole; the result says it is a subsample.
"""

from __future__ import annotations

from polyret.errors import UserError
from polyret.evaluation.config import BM25, EvalConfig
from polyret.evaluation.encoding import encode_texts, load_retriever, model_info
from polyret.evaluation.ir_tasks import evaluate_ir
from polyret.evaluation.lareqa_task import evaluate_lareqa
from polyret.evaluation.results import EvalResult
from polyret.evaluation.tasks import parse_task

__all__ = ["BM25", "EvalConfig", "EvalResult", "encode_texts", "evaluate", "load_retriever", "model_info"]


def evaluate(model, config: EvalConfig, model_name: str | None = None) -> EvalResult:
    """Evaluate ``model`` (a BiEncoder, or ``"bm25"``) on ``config.task``."""
    spec = parse_task(config.task)
    if spec.kind == "lareqa":
        if model == BM25:
            raise UserError(
                "BM25 is not a LAReQA baseline here (the pools are multilingual): use a dense model"
            )
        return evaluate_lareqa(model, spec, config, model_name)
    return evaluate_ir(model, spec, config, model_name)
