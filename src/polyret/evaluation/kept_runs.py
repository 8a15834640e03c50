"""Every run-based evaluation keeps its ranking: the scored run (after the task's rules; top 100 per
query, BIRCO's whole pool), gzip TREC, beside its result file (``x.json`` -> ``x.run.trec.gz``),
written atomically with exact scores, so ``polyret score --run x.run.trec.gz`` reproduces the stored
per-query values exactly and a new measure can be computed later without retraining.
"""

from __future__ import annotations

from pathlib import Path

from polyret.evaluation.results import EvalResult
from polyret.types import Run

KEPT_RUN_SUFFIX = ".run.trec.gz"
BYTES_PER_LINE = 18  # measured: 17.4 bytes per gzip line (BM25, beir/arguana, 200 queries x 100)


def kept_run_path(result_path: str | Path) -> Path:
    """The kept run beside a result file: ``x.json`` / ``x.json.gz`` -> ``x.run.trec.gz``."""
    path = Path(result_path)
    name = path.name
    for suffix in (".json.gz", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name + KEPT_RUN_SUFFIX)


def record_kept_run(run: Run, result: EvalResult, result_path: str | Path) -> Path:
    """Name the kept run in ``result.extra["kept_run"]``; returns where it goes."""
    path = kept_run_path(result_path)
    result.extra["kept_run"] = {"file": path.name, "queries": len(run),
                                "documents": sum(len(docs) for docs in run.values())}
    return path


def write_kept_run(run: Run, result_path: str | Path) -> Path:
    """Write ``run`` beside ``result_path`` atomically (gzip TREC, exact scores)."""
    from polyret.retrieval.trec import write_run

    return write_run(run, kept_run_path(result_path), tag="polyret", exact=True)


def keep_run(run: Run, result: EvalResult, result_path: str | Path) -> Path:
    """Write ``run`` beside ``result_path`` and record it in ``result.extra["kept_run"]``."""
    record_kept_run(run, result, result_path)
    return write_kept_run(run, result_path)
