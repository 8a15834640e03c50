"""polyret score: score a TREC run made by any tool on a task -> the results JSON 'evaluate' writes.

The task's rules are applied as 'evaluate' applies them (BIRCO: each query's pool only; BEIR: a
document whose id is the query's own removed; BRIGHT: excluded ids removed; MIRACL: -M 100), and the
same measures are reported, so the result works with 'compare' and the report. A run naming a query
or a document that the task does not have is refused (one line naming the run file).
"""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret score --task birco/wtb --run runs/e5.trec --out results/e5-birco-wtb.json
  polyret score --task beir/scifact --run bm25-scifact.trec.gz
  polyret score --task birco/clinical-trial --run ../shared/data/birco/clinical-trial/baselines/e5.trec

A run kept by 'evaluate' or the experiment runner (<result>.run.trec.gz) scores to the stored
per-query values exactly.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("score", help="score a TREC run on a task (BEIR, MIRACL, BRIGHT, BIRCO)",
                              description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True, help="a run-based task: beir/NAME_OR_FOLDER | miracl/LANG | "
                   "bright/NAME | birco/NAME_OR_FOLDER")
    p.add_argument("--run", required=True, help="TREC run file 'qid Q0 docid rank score tag' (.gz accepted)")
    p.add_argument("--name", default=None,
                   help="the system's name in the result (default: the run file's name)")
    p.add_argument("--out", "-o", default=None, help="results JSON to write (default: print only)")
    p.add_argument("--data-dir", default=None, help="data root (default: the catalog's search path)")
    p.add_argument("--split", default="test", help="qrels split (default: %(default)s; MIRACL: dev)")
    p.add_argument("--top-k", type=int, default=100, help="depth read per query where the task cuts "
                   "(BEIR, BRIGHT; default: %(default)s)")
    p.add_argument("--corpus", default=None, help="MIRACL corpus or BRIGHT documents folder (not bundled)")
    p.add_argument("--keep-self-hits", action="store_true",
                   help="BEIR: do not remove documents whose id equals the query id")
    p.add_argument("--max-queries", type=int, default=None,
                   help="score the seeded subsample of N queries that 'evaluate --max-queries N' draws "
                   "(default: all)")
    p.add_argument("--seed", type=int, default=0, help="subsampling seed (default: %(default)s)")
    p.add_argument("--no-subsets", action="store_true", help="skip the complex-query subsets (BEIR, BRIGHT)")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.errors import UserError
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.ir_tasks import RunTask
    from polyret.evaluation.registry import find_task
    from polyret.evaluation.report import summarize
    from polyret.retrieval.trec import read_run

    family, spec = find_task(args.task)
    if not isinstance(family, RunTask):
        raise UserError(f"--task {args.task}: not a run-based task (LAReQA is scored from embeddings, "
                        "not a run)")
    config = EvalConfig(task=args.task, data_dir=args.data_dir, split=args.split, top_k=args.top_k,
                        drop_self_hits=not args.keep_self_hits, corpus=args.corpus,
                        subsets=not args.no_subsets, cache=False, max_queries=args.max_queries,
                        seed=args.seed)
    result = family.score_external(read_run(args.run), spec, config, args.run)
    if args.name:
        result.model["name"] = args.name
    sys.stdout.write(summarize(result) + "\n")
    if args.out:
        sys.stdout.write(f"\nwrote {result.save(args.out)}\n")
    return 0
