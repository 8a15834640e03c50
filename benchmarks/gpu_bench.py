"""GPU throughput of multilingual-e5-small in bf16: encoding texts/s and training-step pairs/s, each
with the fraction of the GPU's peak dense bf16 tensor FLOP/s. Called by ``benchmarks/gpu.sh``.

- Encoding: ``BiEncoder.encode`` with bf16 *weights* (``set_inference_precision``), XQuAD-R
  candidate sentences (all 11 languages; synthetic sentences when the data folder is absent).
- Training step: a contrastive (InfoNCE, in-batch negatives, temperature 0.05) step with bf16
  autocast, fp32 master weights and fused AdamW, batch ``--train-batch`` pairs, queries <= 64 and
  passages <= 128 tokens (the issue's CPU setting), with and without frozen token embeddings.
- FLOPs per text of n tokens: 2 x (non-embedding parameters) x n + 4 x layers x hidden x n^2
  (attention) forward; a training step counts 3x forward (forward + backward) for both sides.

The peak is ``--peak-tflops`` (H200 / H100 SXM dense bf16: 989) and also a measured large bf16
matrix product. Time budget: about 2-3 minutes on one H200.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def texts_for(n: int, data: Path, seed: int = 0) -> list[str]:
    if (data / "xquad-r").exists() or data.name == "xquad-r":
        from polyret.data.lareqa import load_lareqa

        folder = data if data.name == "xquad-r" else data / "xquad-r"
        cands = load_lareqa(folder).candidates
        pick = np.random.default_rng(seed).permutation(len(cands))
        base = [cands[i].sentence for i in pick]
    else:
        rng = np.random.default_rng(seed)
        words = "river city bridge king war music tree sky house ship gold stone fire wind".split()
        base = [" ".join(rng.choice(words, size=int(rng.integers(8, 40)))) for _ in range(2000)]
    return [base[i % len(base)] for i in range(n)]


def measured_peak_tflops(device) -> float:
    import torch

    a = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    t0, reps = time.perf_counter(), 20
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * 8192**3 * reps / (time.perf_counter() - t0) / 1e12


def _sync(device) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def bench_encode(model, texts: list[str], batch_size: int, device) -> dict:
    from encode import encoder_flops

    from polyret.modeling.encoder import set_inference_precision

    used = set_inference_precision(model, "bf16")
    lengths = np.array([len(x) for x in model.token_ids(texts, "passage")[0]])
    warm = texts[: 4 * batch_size]
    model.encode(warm, side="passage", batch_size=batch_size, show_progress=False)
    _sync(device)
    t0 = time.perf_counter()
    model.encode(texts, side="passage", batch_size=batch_size, show_progress=False)
    _sync(device)
    seconds = time.perf_counter() - t0
    set_inference_precision(model, "fp32")
    flops = encoder_flops(model, lengths)
    return {"precision": used, "texts": len(texts), "tokens": int(lengths.sum()), "batch_size": batch_size,
            "seconds": seconds, "texts_per_second": len(texts) / seconds, "tflops": flops / seconds / 1e12}


def bench_train(model, texts: list[str], batch: int, steps: int, device, freeze: bool) -> dict:
    """Contrastive steps (bf16 autocast, fp32 master weights, fused AdamW): pairs/s and TFLOP/s."""
    import copy

    import torch
    from encode import encoder_flops

    net = copy.deepcopy(model).to(device).train()
    if freeze:
        net.backbone.get_input_embeddings().weight.requires_grad_(False)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5, fused=torch.device(device).type == "cuda")
    queries = [t[:200] for t in texts]
    flops_total, pairs, seconds = 0.0, 0, 0.0
    torch.cuda.reset_peak_memory_stats() if torch.device(device).type == "cuda" else None
    for step in range(steps + 3):  # 3 warm-up steps
        lo = (step * batch) % max(1, len(texts) - batch)
        q_feat = net.tokenize(queries[lo : lo + batch], "query")
        p_feat = net.tokenize(texts[lo : lo + batch], "passage")
        q_feat["attention_mask"] = q_feat["attention_mask"][:, :64]
        q_feat["input_ids"] = q_feat["input_ids"][:, :64]
        p_feat["attention_mask"] = p_feat["attention_mask"][:, :128]
        p_feat["input_ids"] = p_feat["input_ids"][:, :128]
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
            q = net(q_feat)  # (B, D)
            p = net(p_feat)  # (B, D)
            logits = q.float() @ p.float().T / 0.05  # (B, B)
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(q), device=q.device))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        _sync(device)
        if step >= 3:
            seconds += time.perf_counter() - t0
            pairs += len(q)
            n = np.concatenate([q_feat["attention_mask"].sum(1).cpu().numpy(),
                                p_feat["attention_mask"].sum(1).cpu().numpy()])
            flops_total += 3 * encoder_flops(net, n)
    peak_mem = torch.cuda.max_memory_allocated() / 2**30 if torch.device(device).type == "cuda" else None
    return {"precision": "bf16 autocast, fp32 weights", "frozen_token_embeddings": freeze, "batch": batch,
            "steps": steps, "seconds": seconds, "pairs_per_second": pairs / seconds,
            "tflops": flops_total / seconds / 1e12, "peak_memory_gib": peak_mem,
            "final_loss": float(loss.detach())}


def run(args) -> dict:
    import torch

    from polyret.atomic import write_json
    from polyret.hardware import machine_info
    from polyret.modeling.registry import load_model

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_bench: no CUDA GPU is visible (torch.cuda.is_available() is False)")
    start = time.perf_counter()
    model = load_model("multilingual-e5-small", device=args.device)
    texts = texts_for(max(args.encode_texts, args.train_batch * (args.train_steps + 4)), Path(args.data))
    measured = measured_peak_tflops(args.device) if args.device.startswith("cuda") else None
    result = {"machine": machine_info(), "spec_peak_tflops": args.peak_tflops,
              "measured_matmul_tflops": measured,
              "encode": bench_encode(model, texts[: args.encode_texts], args.encode_batch, args.device)}
    result["train"] = [bench_train(model, texts, args.train_batch, args.train_steps, args.device, freeze)
                       for freeze in (False, True)]
    for part in [result["encode"], *result["train"]]:
        part["fraction_of_spec_peak"] = part["tflops"] / args.peak_tflops
        if measured:
            part["fraction_of_measured_peak"] = part["tflops"] / measured
    result["total_seconds"] = time.perf_counter() - start
    e = result["encode"]
    print(f"GPU: {result['machine']['gpu']}; measured bf16 matmul {measured or 0:.0f} TFLOP/s "
          f"(spec {args.peak_tflops:.0f})")
    print(f"encode (bf16 weights, batch {e['batch_size']}): {e['texts_per_second']:.0f} texts/s, "
          f"{e['tflops']:.1f} TFLOP/s = {100 * e['fraction_of_spec_peak']:.1f}% of spec peak")
    for t in result["train"]:
        print(f"train step (batch {t['batch']}, frozen embeddings {t['frozen_token_embeddings']}): "
              f"{t['pairs_per_second']:.0f} pairs/s, {t['tflops']:.1f} TFLOP/s = "
              f"{100 * t['fraction_of_spec_peak']:.1f}% of spec peak, "
              f"peak memory {t['peak_memory_gib'] or 0:.1f} GiB")
    print(f"total {result['total_seconds']:.0f} s")
    if args.output:
        write_json(args.output, result)
    print(json.dumps({"encode_texts_per_s": round(e["texts_per_second"]),
                      "train_pairs_per_s": [round(t["pairs_per_second"]) for t in result["train"]]}))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.environ.get("POLYRET_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--data", default=default_data)
    ap.add_argument("--encode-texts", type=int, default=20000)
    ap.add_argument("--encode-batch", type=int, default=512)
    ap.add_argument("--train-batch", type=int, default=256)
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="spec dense bf16 peak of the GPU")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--output", default=None, help="JSON file to write")
    args = ap.parse_args()
    run(args)


if __name__ == "__main__":
    main()
