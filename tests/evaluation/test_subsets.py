"""Pre-registered complex-query subsets: rules on example queries, quartiles, BM25 failure, groups."""

from __future__ import annotations

import pytest

from polyret.evaluation.subsets import SubsetContext, multi_part_reasons, select_subsets, word_count
from polyret.types import Query


@pytest.mark.parametrize(
    ("text", "rules"),
    [
        ("What is the capital of France?", []),
        ("salt and pepper steak recipe", []),
        ("What is BM25? How is it computed?", ["questions", "sentences"]),
        ("Statins reduce risk. They also raise glucose.", ["sentences"]),
        ("Is coffee healthy although it raises blood pressure", ["connective"]),
        ("what causes rain and how is it measured", ["coordination"]),
        ("either tea or coffee improves focus", ["coordination"]),
        ("Is Python faster than Java for loops", ["comparative"]),
        ("aspirin versus ibuprofen for headache", ["comparative"]),
        ("Vitamin D does not prevent fractures", ["negation"]),
        ("a diet without sugar isn't better than one with fruit", ["comparative", "negation"]),
    ],
)
def test_multi_part_rules(text, rules):
    assert multi_part_reasons(text) == rules


def _ctx(texts: dict[str, str], dataset: str = "scifact", ref=None, is_bright=False) -> SubsetContext:
    queries = {q: Query(q, t) for q, t in texts.items()}
    qrels = {q: {"d1": 1} for q in texts}
    qrels["unjudged"] = {"d1": 0}
    queries["unjudged"] = Query("unjudged", "a long query without relevant documents, many many more words")
    return SubsetContext(dataset, queries, qrels, reference_ndcg10=ref, is_bright=is_bright)


def test_long_is_top_quartile_with_ties_kept():
    texts = {f"q{i}": " ".join(["w"] * n) for i, n in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 8])}
    out = select_subsets(_ctx(texts), ["long"])["long"]
    assert set(out["queries"]) == {"q6", "q7", "q8"}  # 75th percentile ('higher') = 7; unjudged left out
    assert out["queries"]["q7"] == "8 words >= 75th percentile 7"
    assert word_count("don't stop-me now") == 5


def test_bm25_failure_needs_reference_and_selects_zero_ndcg():
    ctx = _ctx({"a": "x", "b": "y"})
    assert select_subsets(ctx, ["bm25-failure"])["bm25-failure"]["skipped"]
    ctx.reference_ndcg10 = {"a": 0.0, "b": 0.3}
    out = select_subsets(ctx, ["bm25-failure"])["bm25-failure"]
    assert out["size"] == 1 and list(out["queries"]) == ["a"]


def test_groups_and_reasoning_apply_only_where_they_belong():
    out = select_subsets(_ctx({"a": "x"}, dataset="arguana"))
    assert "group:argument-retrieval" in out and "group:fact-verification" not in out
    assert "reasoning" not in out
    bright = select_subsets(_ctx({"a": "x"}, dataset="bright/biology", is_bright=True), ["reasoning"])
    assert bright["reasoning"]["size"] == 1
    with pytest.raises(ValueError, match="unknown subset"):
        select_subsets(_ctx({"a": "x"}), ["hard"])
