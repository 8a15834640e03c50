"""Plain-text tables for results and comparisons (rendering only; nothing is computed here)."""

from __future__ import annotations

from collections.abc import Sequence

from polyret.evaluation.results import EvalResult
from polyret.evaluation.schema import BIAS_METRICS

LAREQA_COLUMNS = ("AP", "R@1", "R@10", "RR", "Success@10")  # AP: its mean is LAReQA's mAP
BIAS_COLUMNS = BIAS_METRICS


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)


def table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 4) -> str:
    """A left/right aligned text table (first column left, the rest right)."""
    cells = [[str(h) for h in headers]] + [[_fmt(v, digits) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for j, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summarize(result: EvalResult) -> str:
    """The readable summary ``polyret evaluate`` prints."""
    head = f"{result.task}  model={result.model_name}"
    if result.data.get("subsampled"):
        head += (
            f"  (SUBSAMPLE: max_queries={result.config.get('max_queries')}, seed={result.config.get('seed')})"
        )
    parts = [head]
    if "bias" in result.metrics:  # LAReQA
        rows = [[s] + [result.metrics[s].get(c) for c in LAREQA_COLUMNS] for s in ("mono", "cross", "multi")]
        parts.append(table(("setting",) + LAREQA_COLUMNS, rows))
        per_lang = result.per_language.get("bias", {})
        lang_rows = [
            [
                x,
                result.per_language["metrics"]["mono"].get(x, {}).get("AP"),
                result.per_language["metrics"]["cross"].get(x, {}).get("AP"),
                result.per_language["metrics"]["multi"].get(x, {}).get("AP"),
            ]
            + [per_lang.get(x, {}).get(c) for c in BIAS_COLUMNS]
            for x in per_lang
        ]
        lang_rows.append(
            [
                "macro",
                result.metrics["mono"]["AP"],
                result.metrics["cross"]["AP"],
                result.metrics["multi"]["AP"],
            ]
            + [result.metrics["bias"].get(c) for c in BIAS_COLUMNS]
        )
        parts.append(table(("lang", "mono mAP", "cross mAP", "multi mAP") + BIAS_COLUMNS, lang_rows))
    else:
        metrics = result.metrics.get("all", {})
        parts.append(
            table(("queries",) + tuple(metrics), [[result.data.get("queries")] + list(metrics.values())])
        )
        rules = result.extra.get("run_rules", {})
        if rules.get("self_hits_removed") is not None:
            parts.append(f"self-hits removed (query id == doc id): {rules['self_hits_removed']}")
        if result.subsets:
            rows = []
            for name, sub in result.subsets.items():
                if "skipped" in sub:
                    rows.append([name, "-", "skipped: " + sub["skipped"]])
                else:
                    rows.append([name, sub["size"], sub.get("metrics", {}).get("nDCG@10")])
            parts.append(table(("subset", "size", "nDCG@10"), rows))
    st = result.settings
    if st.get("max_query_length") is not None:
        prec = st.get("precision", {})
        parts.append(f"encoded with: max_query_length={st['max_query_length']}, "
                     f"max_passage_length={st['max_passage_length']}, precision={prec.get('used')} "
                     f"(requested {prec.get('requested')})")
    t = result.timings
    parts.append("timings: " + ", ".join(f"{k}={v:.1f}" for k, v in t.items()))
    return "\n\n".join(parts)
