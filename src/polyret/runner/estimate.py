"""What a grid will cost on this machine: measured throughput x counted work.

- **Throughput** is measured here, once per machine, model, precision and lengths, and cached:
  encoding tokens/s at two passage lengths (so attention's share is seen), and seconds per
  training step of the first arm (two real steps of :func:`polyret.training.trainer.train`).
- **Work** is counted from the data: texts and tokens (after truncation) of every suite, and the
  training steps of every cell.
- Cells already finished in an experiment folder report what they really cost instead.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from polyret.experiment.spec import ExperimentSpec, Suite, stable_hash
from polyret.runner.cells import BM25_REFERENCE, CellPlan

CALIBRATION_TEXTS = 48


@dataclass(frozen=True)
class SuiteWork:
    task: str
    texts: int
    tokens: int  # after truncation, prefixes included
    run_lines: int = 0  # lines of the run kept per model (run-based tasks: queries x kept depth)


@dataclass(frozen=True)
class Throughput:
    precision: str
    seconds_per_token: dict[int, float]  # length -> s/token when every text has that length
    train_s_per_step: float
    cached: bool = False

    def encode_seconds(self, tokens: int, length: int) -> float:
        """Linear in the padded length between the two calibrated lengths (attention grows with it)."""
        (l1, s1), (l2, s2) = sorted(self.seconds_per_token.items())
        slope = (s2 - s1) / (l2 - l1) if l2 != l1 else 0.0
        return tokens * max(s1 + slope * (length - l1), min(s1, s2))


def count_suite(suite: Suite, tokenizer, data_dir: str | None) -> SuiteWork:
    """Texts and tokens one model encodes for ``suite`` (queries and corpus / candidate pool)."""
    queries, passages = _suite_texts(suite, data_dir)

    def tokens(texts: list[str], prefix: str, limit: int) -> int:
        if not texts:
            return 0
        ids = tokenizer([prefix + t for t in texts], add_special_tokens=True, truncation=True,
                        max_length=limit)["input_ids"]
        return sum(len(x) for x in ids)

    run_lines = 0 if suite.is_lareqa else _kept_run_lines(suite, data_dir)
    n_q = tokens(queries, "query: ", suite.max_query_length)
    n_p = tokens(passages, "passage: ", suite.max_passage_length)
    return SuiteWork(suite.task, len(queries) + len(passages), n_q + n_p, run_lines)


def _kept_run_lines(suite: Suite, data_dir: str | None) -> int:
    """Lines of the run one model's evaluation of ``suite`` keeps (its family's kept depth)."""
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.registry import find_task

    family, spec = find_task(suite.task)
    data = family.load_evaluated(spec, EvalConfig(task=suite.task, data_dir=data_dir,
                                                  max_queries=suite.max_queries))
    if data.pools is not None:  # pooled (BIRCO): the whole pool is kept
        return sum(len(pool) for pool in data.pools.values())
    return len(data.queries) * min(family.kept_depth(data), len(data.corpus))


def _suite_texts(suite: Suite, data_dir: str | None) -> tuple[list[str], list[str]]:
    from polyret.data.load import load_dataset
    from polyret.evaluation.lareqa import candidate_text
    from polyret.retrieval.text import document_text

    if suite.is_lareqa:
        data = load_dataset(suite.task, data_dir, languages=suite.languages)
        qs = [q.text for lang in data.languages for q in data.questions[lang]]
        if suite.max_queries:
            ids = {q.question_id for lang in data.languages for q in data.questions[lang]}
            per = len(qs) / max(len(ids), 1)
            qs = qs[: int(suite.max_queries * per)]
        cands = [candidate_text(c, suite.candidate_text) for c in data.candidates]
        return qs, cands
    if suite.task.startswith("birco/"):  # not in the catalog: loaded by its task family
        from polyret.evaluation.config import EvalConfig
        from polyret.evaluation.registry import find_task

        family, spec = find_task(suite.task)
        data = family.load(spec, EvalConfig(task=suite.task, data_dir=data_dir))
    else:
        data = load_dataset(suite.task, data_dir)
    docs = [document_text(d) for d in data.corpus.values()]
    qs = [data.queries[q].text for q in data.qrels if q in data.queries]
    return qs[: suite.max_queries] if suite.max_queries else qs, docs


def _calibration_path(key: dict[str, Any]) -> Path:
    from polyret.paths import cache_dir

    return cache_dir("calibration") / f"{stable_hash(key, 16)}.json"


def measure_throughput(spec: ExperimentSpec, cell: CellPlan | None, data_dir: str | None,
                       use_cache: bool = True) -> Throughput:
    """Encoding s/token at two lengths and training s/step, measured on this machine (cached)."""
    from polyret.hardware import machine_info, resolve_precision

    precision = resolve_precision(spec.precision)
    lengths = sorted({min(s.max_passage_length, 512) for s in spec.suites} | {64})
    lengths = [lengths[0], lengths[-1]] if len(lengths) > 1 else [64, 128]
    machine = machine_info()
    key = {"machine": [machine["cpu_model"], machine["cpu_bf16_flags"], machine["torch_threads"],
                       machine["gpu"], machine["torch"]],
           "model": spec.base_model, "precision": precision, "lengths": lengths,
           "train": cell.config if cell else None}
    path = _calibration_path(key)
    if use_cache and path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        return Throughput(precision, {int(k): v for k, v in data["seconds_per_token"].items()},
                          data["train_s_per_step"], cached=True)
    per_token = _measure_encoding(spec.base_model, precision, lengths)
    step = _measure_training(cell, data_dir) if cell else 0.0
    from polyret.atomic import write_json

    write_json(path, {"key": key, "seconds_per_token": per_token, "train_s_per_step": step})
    return Throughput(precision, per_token, step)


def _measure_encoding(model_name: str, precision: str, lengths: list[int]) -> dict[int, float]:
    from polyret.modeling.registry import load_model

    model = load_model(model_name)
    words = ("retrieval across languages needs careful evaluation of every model " * 80).split()
    out = {}
    for length in lengths:
        text = " ".join(words[: max(length - 8, 4)])
        texts = [f"{i} {text}" for i in range(CALIBRATION_TEXTS)]
        model.encode(texts[:4], side="passage", batch_size=32, precision=precision)  # warm-up
        t0 = time.perf_counter()
        model.encode(texts, side="passage", batch_size=32, precision=precision)
        n_tokens = CALIBRATION_TEXTS * min(length, model.max_length("passage"))
        out[length] = (time.perf_counter() - t0) / n_tokens
    return out


def _measure_training(cell: CellPlan, data_dir: str | None, steps: int = 3) -> float:
    from polyret.config import ExperimentConfig
    from polyret.training.trainer import train

    with tempfile.TemporaryDirectory(prefix="polyret-calibrate-") as tmp:
        raw = {s: dict(v) for s, v in cell.config.items()}
        raw["train"].update(output_dir=tmp, max_steps=steps, eval_every=0, save_every=0, progress=False,
                            warmup_steps=0)
        raw["data"].update(data_dir=data_dir, val_batches=0)
        rows = []
        result = train(ExperimentConfig.from_dict(raw, "calibration"))
        metrics = Path(tmp) / "metrics.jsonl"
        if metrics.is_file():
            rows = [json.loads(x) for x in metrics.read_text(encoding="utf-8").splitlines() if x.strip()]
        times = [r["s_per_step"] for r in rows if "s_per_step" in r]
        return statistics.median(times) if times else float(result.summary.get("s_per_step", 0.0))


@dataclass(frozen=True)
class CellEstimate:
    cell_id: str
    label: str
    train_s: float
    eval_s: float
    measured: bool = False  # True: what the finished cell really took

    @property
    def total_s(self) -> float:
        return self.train_s + self.eval_s


def estimate_cells(spec: ExperimentSpec, cells: list[CellPlan], work: dict[str, SuiteWork],
                   throughput: Throughput) -> list[CellEstimate]:
    """Per cell: steps x s/step, and tokens x s/token for each suite it is evaluated on."""
    out = []
    for cell in cells:
        eval_s = 0.0
        for suite in cell.suites(spec):
            if cell.arm == BM25_REFERENCE:
                eval_s += work[suite.task].texts * 2e-4  # BM25 indexes and scores in well under a ms/text
            else:
                eval_s += throughput.encode_seconds(work[suite.task].tokens, suite.max_passage_length)
        steps = int(cell.config.get("train", {}).get("max_steps", 0)) if cell.kind == "trained" else 0
        out.append(CellEstimate(cell.cell_id, cell.label, steps * throughput.train_s_per_step, eval_s))
    return out


def with_measured(estimates: list[CellEstimate], finished: dict[str, dict[str, Any]]) -> list[CellEstimate]:
    """Replace estimates by the recorded cost of finished cells (``cell_id -> timings``)."""
    out = []
    for e in estimates:
        t = finished.get(e.cell_id)
        if t and "total_s" in t:
            e = replace(e, train_s=float(t.get("train_s", 0.0)),
                        eval_s=float(sum(t.get("eval_s", {}).values())), measured=True)
        out.append(e)
    return out
