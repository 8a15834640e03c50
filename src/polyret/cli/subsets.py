"""polyret subsets: the pre-registered complex-query subsets of tasks, their sizes and examples.

With ``--output FILE.json`` it writes the pre-registration file instead: per task the rules, sizes,
shares and sorted query ids of every per-dataset subset, BM25's parameters and the data's sha256
(deterministic; no dense model needed). Commit that file before any trained model is scored.
"""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret subsets --task beir/scifact
  polyret subsets --task beir/arguana --examples 5
  polyret subsets --task beir/nfcorpus --task beir/scifact --task beir/arguana --output prereg.json
  polyret subsets --task bright/biology --corpus path/to/bright/biology/documents

Per-dataset subsets (rules in polyret.evaluation.subsets and docs/subsets.md; each should hold
5-60 % of a dataset's evaluated queries, a share outside that is flagged):
  bm25-failure  BM25 (k1 0.9, b 0.4) nDCG@10 = 0 with relevant documents; runs BM25
  long          query length in words >= the dataset's 75th percentile (ties kept)
  multi-part    part count (sentences/segments, clause connectives, coordinated clauses, explicit
                comparisons; negation/comparative only with another part) >= max(2, 75th percentile)
Whole-dataset groups (not per-dataset subsets): group:<name>, reasoning (BRIGHT).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "subsets",
        help="list or pre-register the complex-query subsets of tasks (sizes, examples, query ids)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, action="append",
                   help="beir/NAME_OR_FOLDER | bright/NAME (repeat for several tasks)")
    p.add_argument("--data-dir", default=None, help="data root (default: the catalog's search path)")
    p.add_argument("--split", default="test", help="qrels split (default: %(default)s)")
    p.add_argument("--corpus", default=None,
                   help="BRIGHT documents folder (needed for bm25-failure; only with one --task)")
    p.add_argument("--subset", action="append", default=None,
                   help="with --output: subsets to pre-register (default: every per-dataset subset)")
    p.add_argument("--output", default=None, help="write the pre-registration JSON here (atomically)")
    p.add_argument(
        "--examples", type=int, default=3, help="example queries per subset (default: %(default)s)"
    )
    p.add_argument("--no-bm25", action="store_true", help="listing only: skip bm25-failure (no BM25 run)")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.errors import ConfigError

    if args.corpus is not None and len(args.task) > 1:
        raise ConfigError("--corpus names one BRIGHT task's documents: give a single --task with it")
    if args.output is not None:
        return _preregister(args)
    from polyret.evaluation.subset_listing import list_subsets

    for task in args.task:
        _out(list_subsets(task, data_dir=args.data_dir, split=args.split, corpus=args.corpus,
                          examples=args.examples, bm25=not args.no_bm25) + "\n")
    return 0


def _preregister(args) -> int:
    from polyret.atomic import write_json
    from polyret.evaluation.subset_listing import preregister, size_table

    corpus = {args.task[0]: args.corpus} if args.corpus else None
    prereg = preregister(args.task, args.subset, data_dir=args.data_dir, split=args.split, corpus=corpus)
    path = write_json(args.output, prereg)
    _out(size_table(prereg) + f"\nwrote {path}")
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
