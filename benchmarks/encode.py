"""Encoding throughput: polyret's BiEncoder.encode vs sentence_transformers.SentenceTransformer.encode.

Same model (the converted multilingual-e5-small folder, loaded by both), same texts (a seeded
subsample of XQuAD-R candidate sentences, all 11 languages), same batch size, same process; the two
are run alternately ``--rounds`` times so machine load hits both alike. polyret is also timed with a
token budget per batch (``--max-tokens``, batches of up to 256 texts), and sentence-transformers
once more with the mean batch size that budget produced (to separate the budget from a bigger batch).

    python benchmarks/encode.py --n 1500 --batch-size 32 --output benchmarks/results/encode.json
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "xquad-r"))
    ap.add_argument("--n", type=int, default=1500, help="texts (seeded subsample of the candidates)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=4096, help="polyret token budget per batch")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--side", default="passage", choices=("query", "passage"))
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "encode.json"))
    args = ap.parse_args()

    from sentence_transformers import SentenceTransformer

    from polyret.data.lareqa import load_lareqa
    from polyret.modeling.registry import e5_folder, load_model

    data = load_lareqa(args.data)
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(data.candidates), size=min(args.n, len(data.candidates)), replace=False)
    texts = [data.candidates[i].sentence for i in pick]
    model = load_model("multilingual-e5-small", device="cpu")
    st = SentenceTransformer(str(e5_folder()), device="cpu")
    assert st.max_seq_length == model.max_length(args.side), "both must truncate alike"
    from polyret.modeling.encoder import length_batches

    lengths = np.array([len(x) for x in model.token_ids(texts, args.side)[0]])
    n_tokens = int(lengths.sum())
    # the mean batch size polyret's token budget produces: sentence-transformers is also timed with it,
    # so the budget's gain can be told apart from a plain larger batch
    budget_batch = int(np.ceil(len(texts) / len(length_batches(lengths, 256, args.max_tokens))))

    runs = {
        "sentence_transformers": lambda: st.encode(texts, batch_size=args.batch_size, prompt_name=args.side,
                                                   convert_to_numpy=True, show_progress_bar=False),
        "polyret": lambda: model.encode(texts, side=args.side, batch_size=args.batch_size,
                                        show_progress=False),
        "polyret_token_budget": lambda: model.encode(texts, side=args.side, batch_size=256,
                                                     max_tokens=args.max_tokens, show_progress=False),
        "sentence_transformers_budget_batch": lambda: st.encode(
            texts, batch_size=budget_batch, prompt_name=args.side, convert_to_numpy=True,
            show_progress_bar=False),
    }
    model.encode(texts[:32], side=args.side)  # warm-up (allocator, kernels)
    st.encode(texts[:32], prompt_name=args.side)

    load_before = os.getloadavg()
    seconds: dict[str, list[float]] = {k: [] for k in runs}
    outputs = {}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            outputs[name] = fn()
            seconds[name].append(time.perf_counter() - t0)
    load_after = os.getloadavg()

    ref = outputs["sentence_transformers"]
    best = {k: min(v) for k, v in seconds.items()}
    result = {
        "texts": len(texts), "tokens": n_tokens, "side": args.side, "batch_size": args.batch_size,
        "polyret_max_tokens": args.max_tokens, "st_budget_batch_size": budget_batch,
        "rounds": args.rounds, "seed": args.seed,
        "seconds": seconds, "best_seconds": best,
        "texts_per_second": {k: len(texts) / v for k, v in best.items()},
        "speedup_vs_st": {k: best["sentence_transformers"] / v for k, v in best.items()},
        "min_cosine_vs_st": {k: float((v * ref).sum(1).min()) for k, v in outputs.items()},
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_avg_before": load_before, "load_avg_after": load_after,
                    "platform": platform.platform(), "torch": torch.__version__},
        "data": f"{args.n} XQuAD-R candidate sentences sampled with seed {args.seed} from {args.data}",
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    keys = ("texts_per_second", "speedup_vs_st", "min_cosine_vs_st")
    print(json.dumps({k: result[k] for k in keys}, indent=2))


if __name__ == "__main__":
    main()
