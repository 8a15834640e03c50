"""Encoding: polyret's BiEncoder.encode vs sentence_transformers.SentenceTransformer.encode, in fp32
and in bf16 weights, with the fraction of the machine's measured matrix-product peak.

Same model (the converted multilingual-e5-small folder, loaded by both), same texts (a seeded
subsample of XQuAD-R candidate sentences, all 11 languages), same batch size, same precision on both
sides (bf16: ``model.to(torch.bfloat16)`` for sentence-transformers, ``set_inference_precision`` for
polyret), same process; the runs alternate ``--rounds`` times so machine load hits both alike.

Also measured: cosine between polyret's fp32 and bf16 embeddings of ``--cosine-n`` sentences (min,
median), and the useful FLOP/s of each run -- per text of n tokens, 2 x (non-embedding parameters)
x n for the linear layers plus 4 x layers x hidden x n^2 for attention (scores and weighted sum) --
as a fraction of the peak measured here with a large matrix product in that precision.

    python benchmarks/encode.py --n 1500 --rounds 2 --output benchmarks/results/encode.json

Writes the summary key ``encode_vs_st`` (benchmarks/results/summary.json).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def encoder_flops(model, lengths: np.ndarray) -> float:
    """Useful FLOPs to encode texts of ``lengths`` tokens (no padding counted)."""
    cfg = model.backbone.config
    emb = model.backbone.embeddings
    embedding_params = sum(p.numel() for p in emb.parameters())
    non_embedding = sum(p.numel() for p in model.backbone.parameters()) - embedding_params
    n = lengths.astype(np.float64)
    return float((2.0 * non_embedding * n + 4.0 * cfg.num_hidden_layers * cfg.hidden_size * n * n).sum())


def peak_gflops(precision: str) -> float:
    """Measured GFLOP/s of a large (2048 x 1024) @ (1024 x 4096) product in that precision."""
    from polyret.hardware import matmul_gflops

    return matmul_gflops(precision, seconds=1.0, shape=(2048, 1024, 4096))


def cosine_check(model, texts: list[str], side: str) -> dict:
    from polyret.modeling.encoder import set_inference_precision

    set_inference_precision(model, "fp32")
    a = model.encode(texts, side=side, batch_size=64, show_progress=False)
    set_inference_precision(model, "bf16")
    b = model.encode(texts, side=side, batch_size=64, show_progress=False)
    set_inference_precision(model, "fp32")
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return {"texts": len(texts), "min": float(cos.min()), "median": float(np.median(cos))}


def time_precision(model, st, texts, args, precision: str) -> dict:
    """Alternate polyret and sentence-transformers ``--rounds`` times in ``precision``."""
    from polyret.modeling.encoder import set_inference_precision

    set_inference_precision(model, precision)
    st.to(torch.bfloat16 if precision == "bf16" else torch.float32)
    runs = {
        "sentence_transformers": lambda t: st.encode(t, batch_size=args.batch_size, prompt_name=args.side,
                                                     convert_to_numpy=True, show_progress_bar=False),
        "polyret": lambda t: model.encode(t, side=args.side, batch_size=args.batch_size, show_progress=False),
        "polyret_token_budget": lambda t: model.encode(t, side=args.side, batch_size=256,
                                                       max_tokens=args.max_tokens, show_progress=False),
    }
    for fn in runs.values():  # warm-up (allocator, kernels)
        fn(texts[:32])
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    outputs = {}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            outputs[name] = np.asarray(fn(texts), dtype=np.float32)
            seconds[name].append(time.perf_counter() - t0)
    ref = outputs["sentence_transformers"]
    best = {k: min(v) for k, v in seconds.items()}
    median = {k: float(np.median(v)) for k, v in seconds.items()}
    return {"seconds": seconds, "best_seconds": best,
            "texts_per_second": {k: len(texts) / v for k, v in best.items()},
            "speedup_vs_st_best": {k: best["sentence_transformers"] / v for k, v in best.items()},
            "speedup_vs_st_median": {k: median["sentence_transformers"] / v for k, v in median.items()},
            "min_cosine_vs_st": {k: float((v * ref).sum(1).min()) for k, v in outputs.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "xquad-r"))
    ap.add_argument("--n", type=int, default=1500, help="texts timed (seeded subsample of the candidates)")
    ap.add_argument("--cosine-n", type=int, default=400, help="texts for the fp32 vs bf16 cosine check")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=4096, help="polyret token budget per batch")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=("fp32", "bf16"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--side", default="passage", choices=("query", "passage"))
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "encode.json"))
    ap.add_argument("--no-summary", action="store_true", help="do not update results/summary.json")
    args = ap.parse_args()

    from _summary import update_summary
    from sentence_transformers import SentenceTransformer

    from polyret.atomic import write_json
    from polyret.data.lareqa import load_lareqa
    from polyret.hardware import machine_info
    from polyret.modeling.registry import e5_folder, load_model

    data = load_lareqa(args.data)
    rng = np.random.default_rng(args.seed)
    pick = rng.permutation(len(data.candidates))
    texts = [data.candidates[i].sentence for i in pick[: args.n]]
    cos_texts = [data.candidates[i].sentence for i in pick[: args.cosine_n]]
    model = load_model("multilingual-e5-small", device="cpu")
    st = SentenceTransformer(str(e5_folder()), device="cpu")
    assert st.max_seq_length == model.max_length(args.side), "both must truncate alike"
    lengths = np.array([len(x) for x in model.token_ids(texts, args.side)[0]])
    flops = encoder_flops(model, lengths)

    load_before = os.getloadavg()
    result = {"texts": len(texts), "tokens": int(lengths.sum()), "side": args.side,
              "batch_size": args.batch_size, "polyret_max_tokens": args.max_tokens, "rounds": args.rounds,
              "seed": args.seed, "encoder_gflop": flops / 1e9, "cosine_fp32_vs_bf16":
              cosine_check(model, cos_texts, args.side), "precisions": {}}
    for precision in args.precisions:
        r = time_precision(model, st, texts, args, precision)
        peak = peak_gflops(precision)
        r["peak_matmul_gflops"] = peak
        r["fraction_of_peak"] = {k: flops / v / 1e9 / peak for k, v in r["best_seconds"].items()}
        result["precisions"][precision] = r
        print(precision, {k: round(v, 3) for k, v in r["speedup_vs_st_median"].items()},
              "fraction of peak", {k: round(v, 3) for k, v in r["fraction_of_peak"].items()}, flush=True)
    result["machine"] = {**machine_info(), "load_avg_before": load_before, "load_avg_after": os.getloadavg()}
    result["data"] = f"XQuAD-R candidate sentences sampled with seed {args.seed} from {args.data}"
    write_json(args.output, result)
    print("cosine fp32 vs bf16:", result["cosine_fp32_vs_bf16"])
    if not args.no_summary:
        update_summary("encode_vs_st", {
            p: {"speedup_median": r["speedup_vs_st_median"]["polyret"],
                "speedup_token_budget_median": r["speedup_vs_st_median"]["polyret_token_budget"],
                "fraction_of_peak": r["fraction_of_peak"]["polyret"], "texts": len(texts)}
            for p, r in result["precisions"].items()})


if __name__ == "__main__":
    main()
