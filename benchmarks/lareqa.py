"""LAReQA metrics: polyret vs the per-query ``sklearn.metrics.average_precision_score`` reference.

Side by side in one run, on the same embeddings:

- **polyret**: :func:`polyret.evaluation.lareqa.lareqa_metrics` over every query (Mono, every
  ordered Cross pair, Multi; AP, RR, R@k, Success@k, the Multi top 10).
- **sklearn**: one ``average_precision_score`` call per query and pool (the Mono pool, each Cross
  pool where the id exists, the Multi pool), the reference LAReQA-style code writes. It runs on a
  seeded sample of queries (``--sklearn-queries``) and its time is extrapolated per query to all
  queries (stated in the output). Its values must equal polyret's on every sampled query (to 1e-12).

Pools have the XQuAD-R shape (11 languages, 1,190 question ids in each, 13,090 queries x 13,014
candidates) at scale 1, and every count times ``scale`` at larger scales (synthetic). Embeddings
are random unit vectors of dim 384 rounded to multiples of 1/256, so float32 dot products are
exact and both sides rank bit-identical scores (the rounding also creates exact ties, which both
must break the same way).

``--scaling``: polyret's pool metrics alone, wall time and peak memory (RSS high-water mark in a
fresh process per size) for 1,000 queries against pools of 1k .. 1M candidates: the cost should
grow linearly with the pool and the memory stay bounded (chunked scoring).

Writes ``benchmarks/results/lareqa.json`` and the summary key ``lareqa_vs_sklearn`` (the speed
ratio at scale 1). Examples::

    python benchmarks/lareqa.py                       # scale 1 and 10, scaling 1k..1M (long)
    python benchmarks/lareqa.py --scales 0.1 --sklearn-queries 50 --scaling-sizes 1000 10000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

XQUAD_LANGS = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
XQUAD_IDS, XQUAD_CANDIDATES = 1190, 13014
RESULTS = Path(__file__).resolve().parent / "results" / "lareqa.json"


def synthetic_index(scale: float, langs=XQUAD_LANGS, ids: int | None = None):
    """The XQuAD-R pool shape times ``scale``: every id in every language; several questions of a
    language may share a gold sentence (13,090 questions, 13,014 sentences at scale 1). ``ids``
    caps the question ids (the pool keeps its size: the others are distractors)."""
    from polyret.evaluation.lareqa import LareqaIndex
    from polyret.types import Candidate, LareqaQuestion

    n_ids = max(2, round(XQUAD_IDS * scale)) if ids is None else ids
    n_cands = max(len(langs), round(XQUAD_CANDIDATES * scale))
    per_lang = [n_cands // len(langs) + (i < n_cands % len(langs)) for i in range(len(langs))]
    cands, questions = [], []
    for lang, n in zip(langs, per_lang, strict=True):
        cands += [Candidate(f"{lang}:{j}", lang, f"s{j}", "", f"{lang}:p") for j in range(n)]
        questions += [LareqaQuestion(f"q{i}", lang, f"q{i}", f"{lang}:{i % n}") for i in range(n_ids)]
    return LareqaIndex(list(langs), questions, cands)


def grid_unit_vectors(n: int, dim: int, rng, block: int = 65536) -> np.ndarray:
    """(n, dim) random unit vectors rounded to multiples of 1/256 (exact float32 dot products);
    generated in blocks so a million vectors need no float64 copy of the whole matrix."""
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        x = rng.standard_normal((min(block, n - start), dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start : start + len(x)] = np.round(x * 256) / 256
    return out


def sklearn_reference(q, c, index, rows) -> dict[str, dict[int, float]]:
    """Per sampled query: Mono AP, mean Cross AP over the other languages, Multi AP (sklearn)."""
    from sklearn.metrics import average_precision_score

    out: dict[str, dict[int, float]] = {"mono": {}, "cross": {}, "multi": {}}
    cand_rows = {x: index.cand_rows(x) for x in index.languages}
    for i in rows:
        query = index.queries[i]
        gold = index.gold[query.question_id]
        y = np.zeros(len(index.candidates))
        y[list(gold.values())] = 1
        out["multi"][i] = average_precision_score(y, c @ q[i])
        cross = []
        for lang, cols in cand_rows.items():
            if lang not in gold:
                continue
            ap = average_precision_score(cols == gold[lang], c[cols] @ q[i])
            if lang == query.lang:
                out["mono"][i] = ap
            else:
                cross.append(ap)
        if cross:
            out["cross"][i] = float(np.mean(cross))
    return out


def compare_scale(scale: float, n_sklearn: int, seed: int = 0, dim: int = 384,
                  ids: int | None = None) -> dict:
    """One side-by-side run at ``scale``; asserts identical values on the sampled queries."""
    from polyret.evaluation.lareqa import lareqa_metrics, query_key

    rng = np.random.default_rng(seed)
    index = synthetic_index(scale, ids=ids)
    q = grid_unit_vectors(len(index.queries), dim, rng)
    c = grid_unit_vectors(len(index.candidates), dim, rng)
    rows = np.sort(rng.choice(len(index.queries), size=min(n_sklearn, len(index.queries)), replace=False))
    # half of the sklearn sample before polyret, half after: both see the same (shared) machine
    t0 = time.perf_counter()
    ref = sklearn_reference(q, c, index, rows[::2])
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = lareqa_metrics(q, c, index)
    t_polyret = time.perf_counter() - t0
    t0 = time.perf_counter()
    for setting, values in sklearn_reference(q, c, index, rows[1::2]).items():
        ref[setting].update(values)
    t_sample += time.perf_counter() - t0
    worst = 0.0
    for setting, values in ref.items():
        for i, expected in values.items():
            got = m.per_query[setting]["AP"][query_key(index.queries[i])]
            worst = max(worst, abs(got - expected))
    assert worst <= 1e-12, f"polyret and sklearn differ by {worst:g} at scale {scale}"
    t_sklearn = t_sample / len(rows) * len(index.queries)
    return {
        "scale": scale,
        "queries": len(index.queries),
        "candidates": len(index.candidates),
        "languages": len(index.languages),
        "dim": dim,
        "polyret_s": round(t_polyret, 3),
        "sklearn_sampled_queries": int(len(rows)),
        "sklearn_sample_s": round(t_sample, 3),
        "sklearn_s_per_query": t_sample / len(rows),
        "sklearn_s_extrapolated": round(t_sklearn, 1),
        "speedup": round(t_sklearn / t_polyret, 1),
        "max_abs_difference": worst,
        "values_compared": int(sum(len(v) for v in ref.values())),
        "multi_mAP": m.settings["multi"]["AP"],
    }


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _pool_point(n_pool: int, n_queries: int, dim: int, conn) -> None:
    """One scaling point in a fresh process: time, and the RSS peak above the loaded inputs
    (the peak is reset through ``/proc/self/clear_refs`` once the inputs exist)."""
    from polyret.evaluation.ranking import pad_relevant, pool_metrics

    rng = np.random.default_rng(0)
    q = grid_unit_vectors(n_queries, dim, rng)
    p = grid_unit_vectors(n_pool, dim, rng)
    rel = pad_relevant([list(rng.choice(n_pool, size=min(11, n_pool), replace=False))
                        for _ in range(n_queries)])
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM (Linux >= 4.0)
    before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    pool_metrics(q, p, rel, top=10)
    seconds = time.perf_counter() - t0
    conn.send({"pool": n_pool, "queries": n_queries, "seconds": round(seconds, 3),
               "ns_per_query_candidate": round(seconds / n_queries / n_pool * 1e9, 2),
               "inputs_mib": round((p.nbytes + q.nbytes) / 2**20, 1),
               "peak_rss_above_inputs_mib": round((_status_kib("VmHWM") - before) / 1024, 1)})


def scaling(sizes: list[int], n_queries: int, dim: int = 384) -> list[dict]:
    """Pool metrics time and memory per pool size, each in a fresh process (clean RSS peak)."""
    ctx = mp.get_context("spawn")
    points = []
    for n in sizes:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_pool_point, args=(n, n_queries, dim, child))
        proc.start()
        points.append(parent.recv())
        proc.join()
        print(f"  pool {n:>9,}: {points[-1]['seconds']:8.2f} s, "
              f"{points[-1]['peak_rss_above_inputs_mib']:7.1f} MiB above the inputs", flush=True)
    return points


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="*", default=[1.0, 10.0])
    ap.add_argument("--sklearn-queries", type=int, default=300, help="queries sampled for sklearn")
    ap.add_argument("--query-ids", type=int, default=None,
                    help="question ids at scales above 1 (default: scaled like the pool); e.g. 1190 keeps "
                    "XQuAD-R's 13,090 queries against a 10x pool")
    ap.add_argument("--scaling-sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--scaling-queries", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--output", default=str(RESULTS))
    ap.add_argument("--no-summary", action="store_true", help="do not update benchmarks/results/summary.json")
    args = ap.parse_args(argv)

    import torch

    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    if args.threads:
        torch.set_num_threads(args.threads)
    runs = []
    for scale in args.scales:
        r = compare_scale(scale, args.sklearn_queries, ids=args.query_ids if scale > 1 else None)
        runs.append(r)
        print(f"scale {scale:g}: {r['queries']:,} queries x {r['candidates']:,} candidates: polyret "
              f"{r['polyret_s']:.2f} s; sklearn {r['sklearn_s_extrapolated']:.1f} s (extrapolated from "
              f"{r['sklearn_sampled_queries']} queries, {r['sklearn_s_per_query'] * 1e3:.2f} ms each) -> "
              f"{r['speedup']:.1f}x; max |difference| {r['max_abs_difference']:.1e}", flush=True)
    print(f"scaling: {args.scaling_queries} queries x pool", flush=True)
    points = scaling(args.scaling_sizes, args.scaling_queries) if args.scaling_sizes else []
    out = {
        "what": "LAReQA AP (Mono, Cross, Multi): polyret lareqa_metrics vs per-query "
        "sklearn.metrics.average_precision_score on identical scores; sklearn extrapolated per query",
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
        "runs": runs,
        "scaling": points,
    }
    write_json(args.output, out)
    print(f"wrote {args.output}")
    at_one = next((r for r in runs if r["scale"] == 1.0), None)
    if at_one is not None and not args.no_summary:
        from _summary import update_summary

        update_summary("lareqa_vs_sklearn", {"speedup": at_one["speedup"], "queries": at_one["queries"],
                                             "candidates": at_one["candidates"],
                                             "sklearn_extrapolated_from": at_one["sklearn_sampled_queries"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
