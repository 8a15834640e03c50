"""``polyret sample``: dry run of a batch sampler (one JSON line per batch + a summary)."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  polyret sample --strategy hybrid --alpha 0.5 --batch-size 32 --num-batches 1000 \\
      --train-data squad-parallel --data-dir ../shared/data --output batches.jsonl
  polyret sample --config configs/cross.yaml --set sampling.cross_pairs=batch --output cross.jsonl

Each output line is {"kind": "mono"|"cross"|"mixed", "pairs": [{"item", "q_lang", "p_lang"}, ...]}
(plus "source" when several training sets are mixed). The summary (stdout, JSON) gives the share
of mono batches and the language / language-pair histograms.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="write the batches a sampling configuration would produce (dry run)",
        description=("Draw batches exactly as training would (same seed, same split) "
                     "and write them as JSON lines."),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="experiment YAML (its data and sampling sections are used)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override, repeatable (e.g. sampling.alpha=0.4)")
    p.add_argument("--strategy", choices=("mono", "cross", "hybrid", "en-en", "mixed"),
                   help="batch strategy (default: the config's, hybrid)")
    p.add_argument("--alpha", type=float, help="hybrid: probability of a mono batch (default 0.5)")
    p.add_argument("--batch-size", type=int, help="pairs per batch (default 32)")
    p.add_argument("--seed", type=int, help="sampler seed (default 13)")
    p.add_argument("--train-data", action="append", help="training set name or parallel .jsonl (repeatable)")
    p.add_argument("--data-dir", help="data root (default: the catalog's)")
    p.add_argument("--languages", help="comma-separated languages (default en,es,da,it)")
    p.add_argument("--num-batches", type=int, default=1000, help="batches to write (default: %(default)s)")
    p.add_argument("--all-items", action="store_true",
                   help="sample from every item (default: the training split, validation items held out)")
    p.add_argument("--output", "-o", required=True, help="output .jsonl path")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from itertools import islice

    from polyret.config import load_config
    from polyret.sampling.factory import build_sampler, summarize

    overrides = list(args.overrides)
    for flag, key in [("strategy", "sampling.strategy"), ("alpha", "sampling.alpha"),
                      ("batch_size", "sampling.batch_size"), ("seed", "sampling.seed"),
                      ("data_dir", "data.data_dir")]:
        if getattr(args, flag) is not None:
            overrides.append(f"{key}={getattr(args, flag)}")
    if args.train_data:
        overrides.append(f"data.train_data={json.dumps(args.train_data)}")
    if args.languages:
        overrides.append(f"data.languages={json.dumps(args.languages.split(','))}")
    cfg = load_config(args.config, overrides)
    from polyret.atomic import atomic_write
    from polyret.sampling import batch_stream
    from polyret.training.setup import prepare_data

    if args.all_items:
        from polyret.training.data import load_training_sets

        sets = load_training_sets(cfg.data)
    else:
        sets, _ = prepare_data(cfg)
    sampler = build_sampler(sets, cfg.sampling, cfg.data.languages, grad_accum=cfg.train.grad_accum)
    batches = list(islice(batch_stream(sampler), args.num_batches))
    with atomic_write(args.output, "w") as f:
        for b in batches:
            f.write(json.dumps(b.to_json(), ensure_ascii=False) + "\n")
    summary = summarize(batches)
    summary["output"] = args.output
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return 0
