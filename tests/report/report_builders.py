"""A small synthetic experiment folder with realistic result shapes (EvalResult.to_dict())."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from polyret.evaluation.results import EvalResult
from polyret.experiment.layout import CellRecord, ExperimentLayout, write_result

LANGS = ("en", "de", "es")
PREREG_COMMIT = "3d3a277fe396d8af96983873d695146648e0dea5"  # distinct from the manifest's git_commit
STRATEGIES = {"mono": ("mono", None), "cross": ("cross", None), "hybrid": ("hybrid", 0.5)}


def spec_dict(seeds=(1, 2, 3), arms=None, beir=("beir/scifact",), lareqa=("xquad-r",), demo=False,
              permutations=200, bootstrap=200, prereg: dict | None = None) -> dict:
    arms = arms or {name: {"strategy": s, **({"alpha": a} if a is not None else {})}
                    for name, (s, a) in STRATEGIES.items()}
    return {
        "name": "synthetic", "description": "synthetic test grid", "demo": demo,
        "demo_note": "5 steps, 40 queries" if demo else "", "base_model": "tiny", "seeds": list(seeds),
        "training": {"train": {"max_steps": 5}}, "arms": arms, "references": ["zero-shot", "bm25"],
        "evaluation": {"precision": "fp32", "suites": [
            *({"task": t, "max_query_length": 64, "max_passage_length": 128} for t in lareqa),
            *({"task": t, "max_query_length": 256, "max_passage_length": 256} for t in beir)]},
        "preregistration": {
            "file": "prereg.json", "research_question": "Does hybrid beat cross on complex queries?",
            "hypotheses": ["H1: hybrid - cross > 0 on long queries"], "subsets": ["long", "multi-part"],
            "permutations": permutations, "bootstrap": bootstrap,
            "comparisons": [{"a": "hybrid", "b": "cross", "primary": True}, {"a": "hybrid", "b": "mono"}],
            **(prereg or {})},
    }


def query_ids(n: int) -> list[str]:
    return [f"q{i:03d}" for i in range(n)]


def beir_result(task: str, scores: dict[str, float], recall: dict[str, float]) -> dict:
    return {
        "task": task, "model": {"name": "m"}, "config": {"task": task},
        "metrics": {"all": {"nDCG@10": float(np.mean(list(scores.values()))),
                            "R@100": float(np.mean(list(recall.values())))}},
        "per_query": {"all": {"nDCG@10": scores, "R@100": recall}},
        "extra": {"run_rules": {"self_hits_removed": 0, "self_hit_queries": 0, "depth": 100}},
        "schema_version": 1,
    }


def lareqa_result(task: str, level: float, bias: float) -> dict:
    pairs = {x: {y: level + (0.1 if x == y else 0.0) for y in LANGS} for x in LANGS}
    settings = {"mono": level + 0.1, "cross": level, "multi": level - 0.1}
    keys = [f"{x}:{i}" for x in LANGS for i in range(4)]
    return {
        "task": task, "model": {"name": "m"}, "config": {"task": task},
        "metrics": {**{s: {"mAP": v, "R@1": v, "R@10": v, "MRR": v} for s, v in settings.items()},
                    "bias": {"rank_distance": bias, "own_language_top10": 0.5, "mono_minus_cross_mAP": 0.1}},
        "per_query": {s: {"mAP": {k: v for k in keys}} for s, v in settings.items()},
        "pairs": {"metrics": {"mAP": pairs}, "queries": {x: {y: 4 for y in LANGS} for x in LANGS}},
        "per_language": {}, "schema_version": 1,
    }


def arm_scores(base: np.ndarray, ids: list[str], effect: float, noise: np.ndarray) -> dict[str, float]:
    vals = np.clip(base + effect + noise, 0.0, 1.0)  # (n,)
    return {q: float(v) for q, v in zip(ids, vals, strict=True)}


def build_experiment(root: Path, *, effects: dict[str, float] | None = None, n_queries: int = 60,
                     skip: tuple[tuple[str, int | None], ...] = (), noise: float = 0.05,
                     shared_noise: bool = False, prereg_changed: bool = False, **spec_kw) -> Path:
    """Write a finished (or, with ``skip``, partial) grid; ``effects``: arm -> added per-query score."""
    spec = spec_dict(**spec_kw)
    effects = {"mono": 0.0, "cross": 0.0, "hybrid": 0.0, **(effects or {})}
    layout = ExperimentLayout(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "experiment.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    ids = query_ids(n_queries)
    rng = np.random.default_rng(7)
    base = rng.uniform(0.2, 0.8, size=n_queries)  # (n,)
    arms = sorted(spec["arms"])
    seed_noise = {(a, s): rng.normal(0, noise, size=n_queries) for a in arms for s in spec["seeds"]}
    if shared_noise:  # every arm sees the same per-seed noise: equal effects give identical scores
        seed_noise = {(a, s): seed_noise[(arms[0], s)] for a, s in seed_noise}
    beir = [s["task"] for s in spec["evaluation"]["suites"] if s["task"].startswith("beir/")]
    lareqa = [s["task"] for s in spec["evaluation"]["suites"] if not s["task"].startswith("beir/")]
    fixed_by = {"commit": PREREG_COMMIT, "date": "2026-12-02T03:52:07+00:00", "changed_since": prereg_changed}
    prereg = {"fixed_by": fixed_by, "tasks": {t: {"queries": n_queries, "subsets": {
        "long": {"rule": "top quartile by length", "size": 15, "share": 0.25, "query_ids": ids[:15]},
        "multi-part": {"rule": "two clauses", "size": 20, "share": 1 / 3, "query_ids": ids[10:30]}}}
        for t in beir}}
    (root / "preregistration.json").write_text(json.dumps(prereg), encoding="utf-8")
    (root / "manifest.json").write_text(json.dumps({"polyret_version": "0.test", "git_commit": "abc1234",
                                                    "machine": {"cpu": "test"}, "versions": {"numpy": "x"},
                                                    "data_fingerprints": {}}), encoding="utf-8")
    cells = [(arm, seed) for arm in spec["arms"] for seed in spec["seeds"]] + [("zero-shot", None),
                                                                              ("bm25", None)]
    for arm, seed in cells:
        if (arm, seed) in skip:
            continue
        trained = seed is not None
        cell_id = f"{arm}-s{seed}-abc" if trained else f"{arm}-abc"
        strategy, alpha = STRATEGIES.get(arm, (spec["arms"].get(arm, {}).get("strategy"), None))
        layout.write_cell(CellRecord(cell_id, arm, "trained" if trained else "reference", seed, strategy
                                     if trained else None, alpha if trained else None, "done",
                                     timings={"train_s": 10.0 if trained else 0.0, "eval_s": {"x": 2.0},
                                              "total_s": 12.0 if trained else 2.0}))
        eff = effects.get(arm, -0.1)
        noise_s = seed_noise[(arm, seed)] if trained else np.zeros(n_queries)
        for task in beir:
            scores = arm_scores(base, ids, eff, noise_s)
            result = beir_result(task, scores, scores)
            write_result(layout.result_file(cell_id, task.replace("/", "-")), EvalResult.from_dict(result))
        if arm != "bm25":
            for task in lareqa:
                result = lareqa_result(task, 0.5 + eff, 100 - 100 * eff)
                write_result(layout.result_file(cell_id, task), EvalResult.from_dict(result))
        if trained:
            rows = [{"step": s, "loss": 2.0 / s} for s in range(1, 6)] + [{"step": 5, "val_loss": 0.5}]
            train = layout.train_dir(cell_id)
            train.mkdir(parents=True, exist_ok=True)
            text = "".join(json.dumps(r) + "\n" for r in rows)
            (train / "metrics.jsonl").write_text(text, encoding="utf-8")
    return root
