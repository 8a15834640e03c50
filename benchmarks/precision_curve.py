"""What bf16 compute (and frozen token embeddings) do to learning: validation-loss curves of one
short training run per recipe, same seed, data, batches and schedule.

Recipes: ``fp32`` (every weight trained), ``bf16`` (bf16 autocast, fp32 master weights: the research
grid's recipe) and ``bf16-frozen`` (the same with the token embedding table frozen). Each run is the
research grid's training section (hybrid batches, alpha 0.5, batch 32, q <= 64 / p <= 128, lr 3e-5,
the same validation split) cut to ``--steps`` steps with the validation loss every ``--every`` steps.
Writes ``benchmarks/results/precision_curve.json``: per recipe the curve, s/step, and the largest
|val loss - fp32's val loss| over the curve.

    python benchmarks/precision_curve.py --steps 40 --every 10 --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {"fp32": {"precision": "fp32", "freeze": False},
           "bf16": {"precision": "bf16", "freeze": False},
           "bf16-frozen": {"precision": "bf16", "freeze": True}}


def training_section(args) -> dict:
    """The research grid's training config (one hybrid arm, seed 1), cut to a short run."""
    from polyret.experiment.spec import load_spec, training_config

    spec = load_spec(ROOT / "configs" / "experiments" / "rq-complex-beir.yaml")
    arm = next(a for a in spec.arms if a.name == "hybrid")
    raw = training_config(spec, arm, seed=1, output_dir="<run>").to_dict()
    raw["train"].update(max_steps=args.steps, eval_every=args.every, save_every=args.steps,
                        warmup_steps=max(1, args.steps // 10), log_every=args.every, progress=False)
    raw["data"]["data_dir"] = args.data_dir
    return raw


def run_recipe(raw: dict, recipe: dict, folder: Path) -> dict:
    from polyret.config import ExperimentConfig
    from polyret.training.trainer import train

    raw = json.loads(json.dumps(raw))
    raw["train"].update(precision=recipe["precision"], output_dir=str(folder))
    raw["model"]["freeze_token_embeddings"] = recipe["freeze"]
    result = train(ExperimentConfig.from_dict(raw, source=f"precision curve {recipe}"))
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]
    curve = {r["step"]: r["val_loss"] for r in rows if "val_loss" in r}
    speeds = [r["s_per_step"] for r in rows if "s_per_step" in r]
    return {"val_loss": curve, "s_per_step_median": sorted(speeds)[len(speeds) // 2] if speeds else None,
            "summary_precision": result.summary.get("precision")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "precision_curve.json"))
    args = ap.parse_args()

    from polyret.atomic import write_json
    from polyret.hardware import machine_info

    raw = training_section(args)
    out: dict = {"steps": args.steps, "every": args.every, "config": raw, "machine": machine_info(),
                 "recipes": {}}
    with tempfile.TemporaryDirectory(prefix="polyret-curve-") as tmp:
        for name in args.recipes:
            out["recipes"][name] = run_recipe(raw, RECIPES[name], Path(tmp) / name)
            print(name, out["recipes"][name], flush=True)
    base = out["recipes"].get("fp32", {}).get("val_loss")
    if base:
        for rec in out["recipes"].values():
            common = set(base) & set(rec["val_loss"])
            rec["max_abs_diff_to_fp32"] = max(abs(rec["val_loss"][s] - base[s]) for s in common)
    write_json(args.output, out)
    print(f"wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
