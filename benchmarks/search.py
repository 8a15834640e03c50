"""Exact top-k search: polyret vs faiss.IndexFlatIP on the same embeddings, identical top-k required.

Synthetic L2-normalised vectors (dim 384, seeded), ``--queries`` queries, top-``--k``, corpora of
10k, 100k and 1M vectors. Each size is timed ``--rounds`` times, the two sides alternating:

- FAISS: ``IndexFlatIP.add`` (a copy of the corpus) and ``search``, reported apart;
- polyret ``topk_indices`` (index ties) and ``exact_search`` (the public call: doc ids, ties by id)
  with the default engine (``auto``: the certified bf16 prefilter where this CPU's bf16 matrix
  products are measured fast and the corpus has >= 65,536 vectors, else FAISS's kernel), and
  ``exact_search(engine="faiss")`` (FAISS's fp32 kernel without building an index, ties re-ranked).

Lists are compared with FAISS's; rows that differ are checked against a float64 brute force
(``exact_rows``: how many of them polyret / FAISS rank exactly as float64 products do).

The ratio in the summary (``search_vs_faiss_flat``) is FAISS search time / polyret ``exact_search``
time (median over rounds; > 1 means polyret is faster), with the add not counted for FAISS.

    python benchmarks/search.py --sizes 10000 100000 1000000 --output benchmarks/results/search.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def one_size(queries: np.ndarray, docs: np.ndarray, k: int, rounds: int) -> dict:
    import faiss

    from polyret.retrieval.search import exact_search, topk_indices

    doc_ids = [f"d{i:07d}" for i in range(len(docs))]
    qids = [f"q{i}" for i in range(len(queries))]
    times: dict[str, list[float]] = {k: [] for k in ("faiss_add", "faiss_search", "polyret_topk",
                                                     "polyret_exact", "polyret_exact_faiss_engine")}
    for _ in range(rounds):
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(docs.shape[1])
        index.add(docs)
        times["faiss_add"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        f_scores, f_idx = index.search(queries, k)
        times["faiss_search"].append(time.perf_counter() - t0)
        del index
        t0 = time.perf_counter()
        p_scores, p_idx = topk_indices(queries, docs, k)
        times["polyret_topk"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run = exact_search(queries, docs, qids, doc_ids, top_k=k)
        times["polyret_exact"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        exact_search(queries, docs, qids, doc_ids, top_k=k, engine="faiss")
        times["polyret_exact_faiss_engine"].append(time.perf_counter() - t0)
    median = {name: float(np.median(v)) for name, v in times.items()}
    run_idx = np.array([[int(d[1:]) for d in run[q]] for q in qids])
    return {"docs": len(docs), "engine": engine_used(len(docs), k), "seconds": times,
            "median_seconds": median,
            "speed_vs_faiss_search": {"topk_indices": median["faiss_search"] / median["polyret_topk"],
                                      "exact_search": median["faiss_search"] / median["polyret_exact"],
                                      "exact_search_faiss_engine": median["faiss_search"]
                                      / median["polyret_exact_faiss_engine"]},
            "exact_rows": exact_rows(queries, docs, f_idx, run_idx),
            "speed_vs_faiss_add_and_search": (median["faiss_add"] + median["faiss_search"])
            / median["polyret_exact"],
            "identical_topk_lists": float(np.mean(np.all(f_idx == p_idx, axis=1))),
            "identical_exact_search_lists": float(np.mean(np.all(f_idx == run_idx, axis=1))),
            "max_score_diff": float(np.abs(f_scores - p_scores).max())}


def engine_used(n_docs: int, k: int) -> str:
    from polyret.retrieval.prefilter import use_bf16_scan

    return "bf16 prefilter" if use_bf16_scan("auto", n_docs, None, k) else "faiss"


def exact_rows(queries: np.ndarray, docs: np.ndarray, faiss_idx: np.ndarray, polyret_idx: np.ndarray) -> dict:
    """For the rows where the lists differ: how many of each rank as float64 products do."""
    differ = np.flatnonzero(np.any(faiss_idx != polyret_idx, axis=1))
    k = faiss_idx.shape[1]
    ok = {"rows_that_differ": int(len(differ)), "faiss_exact": 0, "polyret_exact": 0}
    for r in differ.tolist():
        exact = docs.astype(np.float64) @ queries[r].astype(np.float64)  # (N,)
        truth = np.lexsort((np.arange(len(docs)), -exact))[:k]
        ok["faiss_exact"] += int(np.array_equal(truth, faiss_idx[r]))
        ok["polyret_exact"] += int(np.array_equal(truth, polyret_idx[r]))
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "search.json"))
    ap.add_argument("--no-summary", action="store_true", help="do not update results/summary.json")
    args = ap.parse_args()

    import faiss
    from _summary import update_summary

    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    rng = np.random.default_rng(args.seed)
    queries = unit(rng, args.queries, args.dim)
    rows = []
    load_before = os.getloadavg()
    for n in args.sizes:
        row = one_size(queries, unit(rng, n, args.dim), args.k, args.rounds)
        rows.append(row)
        print({k: row[k] for k in ("docs", "engine", "median_seconds", "speed_vs_faiss_search",
                                   "identical_exact_search_lists", "exact_rows")}, flush=True)
    result = {"queries": args.queries, "dim": args.dim, "k": args.k, "seed": args.seed, "rounds": args.rounds,
              "results": rows, "machine": {**machine_info(), "faiss_threads": faiss.omp_get_max_threads(),
                                           "load_avg_before": load_before, "load_avg_after": os.getloadavg()}}
    write_json(args.output, result)
    if not args.no_summary:
        update_summary("search_vs_faiss_flat", {
            str(r["docs"]): {"speed_vs_faiss_search": round(r["speed_vs_faiss_search"]["exact_search"], 3),
                             "engine": r["engine"],
                             "faiss_engine_speed_vs_faiss_search":
                                 round(r["speed_vs_faiss_search"]["exact_search_faiss_engine"], 3),
                             "rows_that_differ": r["exact_rows"]["rows_that_differ"],
                             "speed_vs_faiss_add_and_search": round(r["speed_vs_faiss_add_and_search"], 3),
                             "identical_topk": r["identical_exact_search_lists"]} for r in rows})


if __name__ == "__main__":
    main()
