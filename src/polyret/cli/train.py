"""``polyret train``: train a bi-encoder from a YAML config."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  polyret train --config configs/smoke.yaml                       # seconds, tiny random model
  polyret train --config configs/hybrid.yaml --set sampling.alpha=0.4 --set train.output_dir=runs/a04
  polyret train --config configs/cpu-e5-hybrid.yaml --resume       # continue a killed run
  polyret train --config configs/smoke.yaml --set train.precision=bf16 \\
      --set model.freeze_token_embeddings=true                     # the cheap step
  accelerate launch --num_processes 2 -m polyret train --config configs/hybrid.yaml   # several GPUs

Writes into train.output_dir: the model (sentence-transformers format), config.yaml,
data_fingerprint.json, metrics.jsonl, train_summary.json and checkpoints/ (deleted once the run
has finished unless train.keep_checkpoints_at_end=true).
--resume continues from the newest intact checkpoint, refuses a configuration that differs from the
saved config.yaml (naming the keys) unless --allow-config-change (recorded in train_summary.json),
and on a finished run prints its saved result without training again.
Valid --set keys: run 'polyret train --list-keys'.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a bi-encoder (mono / cross / hybrid batches)",
        description="Fine-tune a bi-encoder with InfoNCE on parallel QA pairs, batches sampled by strategy.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="experiment YAML (default: built-in defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override, repeatable (e.g. sampling.alpha=0.4, train.max_steps=100)")
    p.add_argument("--output-dir", help="shortcut for --set train.output_dir=PATH")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in output_dir")
    p.add_argument("--allow-config-change", action="store_true",
                   help="with --resume: accept a configuration that differs from the saved one (recorded)")
    p.add_argument("--list-keys", action="store_true", help="print every config key with its help and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import sys

    from polyret.config import SECTIONS, load_config

    if args.list_keys:
        for section, klass in SECTIONS.items():
            for f in dataclasses.fields(klass):
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                sys.stdout.write(f"{section}.{f.name} (default {default!r}): {f.metadata.get('help', '')}\n")
        return 0
    overrides = list(args.overrides) + ([f"train.output_dir={args.output_dir}"] if args.output_dir else [])
    cfg = load_config(args.config, overrides)
    from polyret.training.trainer import train

    result = train(cfg, resume=args.resume, allow_config_change=args.allow_config_change)
    sys.stdout.write(json.dumps({"output_dir": str(result.output_dir), **result.summary}, indent=2,
                                default=str) + "\n")
    return 0
