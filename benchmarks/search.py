"""Exact top-k search: polyret's chunked search vs faiss.IndexFlatIP on the same embeddings.

Synthetic L2-normalised vectors (dim 384, seeded), 1,000 queries, top-10, corpora of 10k, 100k and
1M vectors. Reports seconds (FAISS: index add and search apart; polyret: the whole call) and the
agreement of the top-10 lists (same set, same order).

    python benchmarks/search.py --sizes 10000 100000 1000000 --output benchmarks/results/search.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "search.json"))
    args = ap.parse_args()

    import faiss

    from polyret.retrieval.search import topk_indices

    rng = np.random.default_rng(args.seed)
    queries = unit(rng, args.queries, args.dim)
    rows = []
    load_before = os.getloadavg()
    for n in args.sizes:
        docs = unit(rng, n, args.dim)
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(args.dim)
        index.add(docs)
        t_add = time.perf_counter() - t0
        t0 = time.perf_counter()
        f_scores, f_idx = index.search(queries, args.k)
        t_faiss = time.perf_counter() - t0  # search only (the add, a copy, is reported apart)
        t0 = time.perf_counter()
        p_scores, p_idx = topk_indices(queries, docs, args.k)
        t_poly = time.perf_counter() - t0
        same_list = float(np.mean(np.all(f_idx == p_idx, axis=1)))
        overlap = float(np.mean([len(set(a) & set(b)) / args.k for a, b in zip(f_idx, p_idx, strict=True)]))
        rows.append({"docs": n, "faiss_add_seconds": t_add, "faiss_search_seconds": t_faiss,
                     "polyret_seconds": t_poly,
                     "polyret_speed_vs_faiss": t_faiss / t_poly, "same_top10_list": same_list,
                     "top10_overlap": overlap,
                     "max_score_diff": float(np.abs(f_scores - p_scores).max())})
        print(json.dumps(rows[-1]))
        del docs, index
    result = {"queries": args.queries, "dim": args.dim, "k": args.k, "seed": args.seed, "results": rows,
              "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "faiss_threads": faiss.omp_get_max_threads(), "load_avg_before": load_before,
                          "load_avg_after": os.getloadavg(), "platform": platform.platform()}}
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
