"""polyret subsets: the pre-registered complex-query subsets of a task, their sizes and examples."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret subsets --task beir/scifact
  polyret subsets --task beir/arguana --examples 5
  polyret subsets --task bright/biology --corpus path/to/bright/documents

Subsets (rules fixed in polyret.evaluation.subsets): group:<name> (dataset groups), bm25-failure
(BM25 nDCG@10 = 0 with relevant documents; runs BM25), long (top quartile of query length in words),
multi-part (rule-based: several questions or sentences, connectives, coordinated clauses,
comparatives, negation), reasoning (BRIGHT sets).
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "subsets",
        help="list the complex-query subsets of a task (sizes, example queries, reasons)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--task", required=True, help="beir/NAME_OR_FOLDER | bright/NAME")
    p.add_argument("--data-dir", default=None, help="data root (default: the catalog's search path)")
    p.add_argument("--split", default="test", help="qrels split (default: %(default)s)")
    p.add_argument("--corpus", default=None, help="BRIGHT documents folder (needed for bm25-failure)")
    p.add_argument(
        "--examples", type=int, default=3, help="example queries per subset (default: %(default)s)"
    )
    p.add_argument("--no-bm25", action="store_true", help="skip the bm25-failure subset (no BM25 run)")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.evaluation.subset_listing import list_subsets

    _out(
        list_subsets(
            args.task,
            data_dir=args.data_dir,
            split=args.split,
            corpus=args.corpus,
            examples=args.examples,
            bm25=not args.no_bm25,
        )
    )
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
