"""The task registry: a family added in this test alone is found by name and evaluated end to end."""

from __future__ import annotations

import pytest

from polyret.errors import UserError
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.evaluator import evaluate
from polyret.evaluation.ir_tasks import IrTaskData, RunTask
from polyret.evaluation.registry import FAMILIES, parse_task, register, unregister
from polyret.evaluation.tasks import TaskSpec
from polyret.retrieval.retriever import BM25
from polyret.types import Document, Query


class ToyTask(RunTask):
    """Three documents; ``toy/NAME`` asks about NAME; only the document naming it is relevant."""

    kind = "toy"
    help = "toy/NAME"
    measures = ("nDCG@10", "RR@10")

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        words = ("cats", "dogs", "owls")
        corpus = {f"d-{w}": Document(f"d-{w}", f"all about {w} and more {w}") for w in words}
        queries = {"q1": Query("q1", f"tell me about {spec.name}"), "q2": Query("q2", "anything on owls")}
        qrels = {"q1": {f"d-{spec.name}": 1}, "q2": {"d-owls": 1, "d-cats": 0}}
        return IrTaskData(f"toy/{spec.name}", corpus, queries, qrels)


@pytest.fixture
def toy():
    family = register(ToyTask())
    yield family
    unregister("toy")


def test_a_family_registered_in_the_test_is_found_and_evaluated(toy):
    assert parse_task("toy/dogs") == TaskSpec("toy", "dogs")
    result = evaluate(BM25, EvalConfig(task="toy/dogs", cache=False))
    assert result.task == "toy/dogs" and result.model["kind"] == "bm25"
    assert result.per_query["all"] == {"nDCG@10": {"q1": 1.0, "q2": 1.0}, "RR@10": {"q1": 1.0, "q2": 1.0}}
    assert result.subsets == {}  # polyret's complex-query subsets are not the toy's
    with pytest.raises(ValueError, match="already registered"):
        register(ToyTask())


def test_unknown_names_list_what_is_registered(toy):
    with pytest.raises(UserError, match=r"did you mean 'toy/dogs'.*toy/NAME"):
        parse_task("tyo/dogs")
    unregister("toy")
    assert "toy" not in FAMILIES
    with pytest.raises(UserError) as err:
        parse_task("toy/dogs")
    assert "toy/NAME" not in str(err.value) and "birco/" in str(err.value)
