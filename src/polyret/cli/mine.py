"""``polyret mine``: mine hard negatives for training (BM25 or a dense model) into a jsonl file."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  polyret mine --bm25 --output runs/negatives-bm25.jsonl
  polyret mine --model multilingual-e5-small --languages en es --num-negatives 8 --depth 50 \\
      --output runs/negatives-e5.jsonl
  polyret mine --bm25 --train my-pairs.jsonl --output negs.jsonl

TRAIN is a catalog training join (default squad-parallel, XQuAD paragraphs excluded) or a parallel
.jsonl file (rows: item_id, lang, question, passage, passage_id). Per language, every question is
searched against that language's passages; its own paragraph (by id and by text) is skipped, and
the next --num-negatives are kept. Use the file with data.hard_negatives / data.num_hard_negatives
in a training config. Questions with too few (or no) negatives are counted in the summary; training
fills them with passages of other paragraphs. OUTPUT.json records the settings and counts.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("mine", help="mine hard negatives for training into a jsonl file",
                              description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="dense model: built-in name, folder or Hub id")
    p.add_argument("--bm25", action="store_true", help="mine with BM25 instead of a dense model")
    p.add_argument("--train", default="squad-parallel",
                   help="training join name or parallel .jsonl file (default: %(default)s)")
    p.add_argument("--languages", nargs="+", default=["en", "es", "da", "it"],
                   help="languages to mine (default: %(default)s)")
    p.add_argument("--exclude", nargs="*", default=["xquad"],
                   help="evaluation sets whose paragraphs a catalog join leaves out (default: %(default)s)")
    p.add_argument("--data-dir", default=None, help="dataset folder (default: the data search path)")
    p.add_argument("--output", required=True, help="jsonl file to write")
    p.add_argument("--num-negatives", type=int, default=8,
                   help="negatives per question (default: %(default)s)")
    p.add_argument("--depth", type=int, default=50, help="ranks per question (default: %(default)s)")
    p.add_argument("--skip-top", type=int, default=0,
                   help="ranks skipped after the own paragraph (unlabelled positives) (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="encoding batch size (default: %(default)s)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="dense encoding precision (default: %(default)s)")
    p.add_argument("--cache", action="store_true", help="read/write the embedding cache")
    p.add_argument("--device", default=None, help="cpu, cuda (default: cuda if available)")
    p.set_defaults(func=run)


def _items(args):
    from pathlib import Path

    if args.train.endswith(".jsonl") or Path(args.train).is_file():
        from polyret.training.data import read_parallel_jsonl

        return read_parallel_jsonl(args.train, args.languages)
    from polyret.data.parallel import load_training_items

    return load_training_items(name=args.train, data_dir=args.data_dir, languages=tuple(args.languages),
                               exclude=tuple(args.exclude))


def run(args) -> int:
    import sys
    from pathlib import Path

    from polyret.atomic import write_json
    from polyret.cli.outputs import refuse_input_as_output
    from polyret.errors import UserError
    from polyret.training.mining import mine_hard_negatives

    if args.bm25 == (args.model is not None):
        raise UserError("give exactly one of --model NAME or --bm25")
    for name in ("num_negatives", "depth"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1, not {getattr(args, name)}")
    refuse_input_as_output({"--output": args.output, "--output (its manifest)": f"{args.output}.json"},
                           {"--train": args.train if Path(args.train).exists() else None,
                            "--data-dir": args.data_dir})
    items = _items(args)
    if not items:
        raise UserError(f"{args.train}: no training items in languages {args.languages}")
    model = None
    if args.model:
        from polyret.modeling.encoder import set_inference_precision
        from polyret.modeling.registry import load_model

        model = load_model(args.model, device=args.device)
        set_inference_precision(model, args.precision)
    stats = mine_hard_negatives(items, args.output, args.languages, model=model,
                                num_negatives=args.num_negatives, depth=args.depth, skip_top=args.skip_top,
                                batch_size=args.batch_size, cache=args.cache)
    info = {"train": args.train, "method": "bm25" if model is None else "dense", "model": args.model,
            "fingerprint": model.fingerprint() if model is not None else None,
            "precision": model.inference_precision if model is not None else None,
            "num_negatives": args.num_negatives, "depth": args.depth, "skip_top": args.skip_top,
            "items": len(items), "per_language": stats}
    write_json(f"{args.output}.json", info)
    for lang, s in stats.items():
        sys.stdout.write(f"{lang}: {s['queries']} questions, {s['passages']} passages, {s['short']} with "
                         f"fewer than {args.num_negatives} negatives, {s['empty']} with none\n")
    sys.stdout.write(f"wrote {args.output}\n")
    return 0
