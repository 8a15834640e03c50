"""polyret compare: metric deltas of results against the first (baseline), with paired tests."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret compare results/e5-xquad-r.json results/hybrid-xquad-r.json
  polyret compare bm25-scifact.json e5-scifact.json minilm-scifact.json --test bootstrap --metric nDCG@10

Results must be comparable: same task and data files (sha256), pool languages, candidate text,
evaluated queries, self-hit rule, query/passage lengths and precision. A difference is refused with one
line naming it; --force compares anyway with a warning.

Every system is compared with the first file over the queries both hold (per setting, metric and, on
BEIR, complex-query subset; --metric selects subset rows too). p-values are Holm-corrected within a
family, printed with each row: 'effectiveness' (higher is better) and 'bias' (lower is better); metrics
equal per query to another (RR = AP, Success@k = R@k in Mono/Cross) are tested once. CIs are paired
bootstrap percentile intervals of the mean difference; d is Cohen's d for paired samples.
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
    p.add_argument(
        "--force",
        action="store_true",
        help="compare results that are not comparable (a warning names every difference)",
    )
    p.add_argument("--output", "-o", default=None, help="write the comparison rows as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from dataclasses import asdict

    from polyret.atomic import write_json
    from polyret.evaluation.compare import check_comparable, compare_results, family_summary
    from polyret.evaluation.report import comparison_table
    from polyret.evaluation.results import EvalResult, json_safe

    results = [EvalResult.load(p) for p in args.results]
    problems = check_comparable(results) if len(results) > 1 else []
    for problem in problems if args.force else []:
        sys.stderr.write(f"polyret: warning: not comparable: {problem}\n")
    rows = compare_results(
        results, test=args.test, n_resamples=args.resamples, seed=args.seed, metrics=args.metric,
        force=args.force,
    )
    _out(f"task {results[0].task}; baseline {results[0].model_name} ({args.results[0]})")
    _out(comparison_table(rows, args.test))
    for line in family_summary(rows):
        _out(line)
    if args.output:
        write_json(
            args.output,
            json_safe({
                "test": args.test,
                "seed": args.seed,
                "resamples": args.resamples,
                "files": args.results,
                "not_comparable": problems,
                "families": family_summary(rows),
                "rows": [asdict(r) for r in rows],
            }),  # NaN (e.g. Cohen's d of one query) -> null
            indent=1,
        )
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
