"""Search cost vs corpus size: wall time and peak memory of ``exact_search`` from 1k to 1M passages.

Synthetic L2-normalised vectors (dim 384, seeded) stand in for an encoded corpus; ``--queries``
queries, top-``--k``. Each size runs in a fresh subprocess, so its peak resident memory
is its own. Reported per size: seconds, peak RSS during the search (sampled every 2 ms), the corpus
matrix's own bytes and the search's working memory (that peak minus the RSS just before the search,
when ids and vectors exist), and the time per
(query x document) pair. Exact search reads every vector once per query block, so time should grow
linearly with the corpus and the working memory should stay flat (bounded by the score block and
the (Q, k) results), whatever the corpus size.

    python benchmarks/scaling.py --sizes 1000 10000 100000 1000000 --output benchmarks/results/scaling.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _current_rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class PeakSampler:
    """Highest resident memory seen while the block runs (sampled every 2 ms in a thread)."""

    def __enter__(self):
        import threading

        self.peak, self._stop = _current_rss_mib(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _current_rss_mib())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _current_rss_mib())


def child(n: int, queries: int, dim: int, k: int, seed: int) -> dict:
    """One size, run inside its own process."""
    import numpy as np

    from polyret.retrieval.search import exact_search

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    d = rng.standard_normal((n, dim), dtype=np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    qids = [f"q{i}" for i in range(queries)]
    dids = [f"d{i}" for i in range(n)]
    exact_search(q[:8], d[: min(n, 1000)], qids[:8], dids[: min(n, 1000)], top_k=k)  # warm-up
    before = _current_rss_mib()
    with PeakSampler() as sampler:
        t0 = time.perf_counter()
        run = exact_search(q, d, qids, dids, top_k=k)
        seconds = time.perf_counter() - t0
    peak = sampler.peak
    assert len(run) == queries and all(len(r) == min(k, n) for r in run.values())
    return {"docs": n, "seconds": seconds, "peak_rss_mib": peak, "process_peak_rss_mib": _rss_mib(),
            "rss_before_search_mib": before,
            "search_working_mib": peak - before, "corpus_mib": d.nbytes / 2**20,
            "ns_per_query_doc_pair": seconds / (queries * n) * 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "scaling.json"))
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.queries, args.dim, args.k, args.seed)))
        return

    import os

    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    rows = []
    load_before = os.getloadavg()
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(n), "--queries", str(args.queries), "--dim",
               str(args.dim), "--k", str(args.k), "--seed", str(args.seed)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{n:>9,} docs  {r['seconds']:8.3f} s  {r['ns_per_query_doc_pair']:6.3f} ns/pair  "
              f"peak RSS {r['peak_rss_mib']:8.1f} MiB  corpus {r['corpus_mib']:7.1f} MiB  "
              f"search working set {r['search_working_mib']:6.1f} MiB", flush=True)
    write_json(args.output, {"queries": args.queries, "dim": args.dim, "k": args.k, "seed": args.seed,
                             "results": rows, "machine": {**machine_info(), "load_avg_before": load_before,
                                                          "load_avg_after": os.getloadavg()}})


if __name__ == "__main__":
    main()
