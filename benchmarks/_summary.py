"""The headline ratios of every benchmark in one file: ``benchmarks/results/summary.json``.

Each benchmark script calls :func:`update_summary` with its key (``encode_vs_st``, ``train_vs_st``,
``search_vs_faiss_flat``, ``lareqa_vs_sklearn``); the file is rewritten atomically with that key
merged in and ``machine`` (``polyret.hardware.machine_info()``) refreshed, so scripts run at
different times never erase each other's figures and a killed write never leaves half a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SUMMARY_PATH = Path(__file__).resolve().parent / "results" / "summary.json"


def read_summary(path: str | Path = SUMMARY_PATH) -> dict[str, Any]:
    """The summary as a dict ({} when absent or unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_summary(key: str, value: Any, path: str | Path = SUMMARY_PATH) -> dict[str, Any]:
    """Merge ``{key: value}`` (and the current ``machine``) into the summary; return the new summary."""
    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    if key == "machine":
        raise ValueError("'machine' is written by update_summary itself")
    summary = read_summary(path)
    summary[key] = value
    summary["machine"] = machine_info()
    write_json(path, summary)
    return summary
