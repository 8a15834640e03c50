"""polyret compare: metric deltas of results against the first (baseline), with paired tests."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret compare results/e5-xquad-r.json results/hybrid-xquad-r.json
  polyret compare bm25-scifact.json e5-scifact.json minilm-scifact.json --test bootstrap --metric nDCG@10

Every system is compared with the first file over the queries both hold (per setting, metric and, on
BEIR, complex-query subset). p-values are Holm-corrected over all rows printed; CIs are paired bootstrap
percentile intervals of the mean difference; d is Cohen's d for paired samples.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare result files with paired significance tests (Holm-corrected)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", nargs="+", help="result JSON files of one task; the first is the baseline")
    p.add_argument(
        "--test",
        choices=("randomization", "bootstrap", "t-test"),
        default="randomization",
        help="paired test (default: %(default)s, two-sided Fisher randomization)",
    )
    p.add_argument(
        "--resamples", type=int, default=10_000, help="randomization/bootstrap samples (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: %(default)s)")
    p.add_argument(
        "--metric",
        action="append",
        default=None,
        help="only this metric (repeatable; default: every metric kept per query)",
    )
    p.add_argument("--output", "-o", default=None, help="write the comparison rows as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from dataclasses import asdict

    from polyret.evaluation.compare import compare_results
    from polyret.evaluation.report import comparison_table
    from polyret.evaluation.results import EvalResult

    results = [EvalResult.load(p) for p in args.results]
    rows = compare_results(
        results, test=args.test, n_resamples=args.resamples, seed=args.seed, metrics=args.metric
    )
    _out(f"task {results[0].task}; baseline {results[0].model_name} ({args.results[0]})")
    _out(comparison_table(rows, args.test))
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(
            json.dumps(
                {
                    "test": args.test,
                    "seed": args.seed,
                    "resamples": args.resamples,
                    "files": args.results,
                    "rows": [asdict(r) for r in rows],
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
