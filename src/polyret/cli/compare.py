"""polyret compare: differences of results against the first (the baseline), or of two arms of an
experiment folder, with the statistics the report uses (polyret.stats)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  polyret compare results/e5-xquad-r.json results/hybrid-xquad-r.json
  polyret compare bm25-scifact.json.gz e5-scifact.json minilm-scifact.json --metric nDCG@10
  polyret compare runs/rq-complex-beir --arms hybrid,cross --margin 0.01
  polyret compare docs/results/rq-birco --arms hybrid,cross --seeds 2,3,4,5

Result files (.json or .json.gz) must be comparable: same task and data files (sha256), pool languages,
candidate text, evaluated queries, self-hit rule, query/passage lengths and precision. A difference is
refused with one line naming it; --force compares anyway with a warning. Every row is system - baseline
(treatment - reference) over the queries both hold: a paired t-test over queries (95 % CI, p), the
sign-flip p (exact for n <= 20, else Monte Carlo with its error) and a bootstrap CI as a second view,
Holm-corrected within a family: 'effectiveness' (higher is better) and 'bias' (lower is better).

With an experiment folder, --arms A,B compares arm A (treatment) with B (reference) on every BEIR
suite and pre-registered subset, seed-aware as in the report (queries and seeds random). Comparisons
with BM25 leave out the bm25-failure subset (BM25 defines it). A null/NaN/inf per-query score is an error.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="compare result files or two arms of an experiment folder (paired, Holm-corrected)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("results", nargs="+",
                   help="result files (.json / .json.gz) of one task, the first the baseline; or one "
                        "experiment folder with --arms")
    p.add_argument("--arms", default=None, metavar="A,B",
                   help="with an experiment folder: compare arm A (treatment) with B (reference)")
    p.add_argument("--seeds", default=None, metavar="S,S,...",
                   help="with --arms: only these training seeds (a sensitivity analysis, e.g. the seeds "
                        "whose two arms one kind of machine trained)")
    p.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: %(default)s)")
    p.add_argument("--metric", action="append", default=None,
                   help="only this metric (repeatable; default: every metric kept per query)")
    p.add_argument("--margin", type=float, default=None,
                   help="equivalence margin for the TOST (metric units, e.g. 0.01)")
    p.add_argument("--force", action="store_true",
                   help="compare results that are not comparable (a warning names every difference)")
    p.add_argument("--output", "-o", default=None, help="write the comparison rows as JSON")
    p.set_defaults(func=run)


def load_result(path: str):
    """An :class:`EvalResult` from ``.json`` or ``.json.gz``; non-finite per-query scores refused."""
    from polyret.evaluation.compare import check_finite
    from polyret.evaluation.results import EvalResult
    from polyret.experiment.layout import read_result

    p = Path(path)
    gz = p.is_file() and p.read_bytes()[:2] == b"\x1f\x8b"
    result = read_result(p) if gz else EvalResult.load(p)
    check_finite(result, str(p))
    return result


def run(args) -> int:
    from polyret.errors import UserError

    folder = len(args.results) == 1 and Path(args.results[0]).is_dir()
    if folder:
        if not args.arms:
            raise UserError(f"{args.results[0]}: an experiment folder needs --arms A,B")
        rows, head, problems = _experiment(args)
    else:
        if args.arms:
            raise UserError("--arms needs one experiment folder, not result files")
        rows, head, problems = _files(args)
    _out(head)
    _out(format_rows(rows, with_task=folder))
    if args.output:
        from polyret.atomic import write_json
        from polyret.evaluation.results import json_safe

        write_json(args.output, json_safe({
            "seed": args.seed, "resamples": args.resamples, "inputs": args.results, "arms": args.arms,
            "margin": args.margin, "not_comparable": problems, "rows": [r.to_dict() for r in rows]}),
            indent=1)
    return 0


def _files(args):
    from polyret.evaluation.compare import check_comparable, compare_results, family_summary

    results = [load_result(p) for p in args.results]
    problems = check_comparable(results) if len(results) > 1 else []
    for problem in problems if args.force else []:
        sys.stderr.write(f"polyret: warning: not comparable: {problem}\n")
    rows = compare_results(results, bootstrap=args.resamples, seed=args.seed, metrics=args.metric,
                           force=args.force, margin=args.margin)
    head = f"task {results[0].task}; baseline {results[0].model_name} ({args.results[0]})"
    return rows, "\n".join([head, *family_summary(rows)]), problems


def _experiment(args):
    from polyret.errors import UserError
    from polyret.evaluation.compare import unknown_name
    from polyret.experiment.spec import Comparison
    from polyret.report.analysis import difference_rows
    from polyret.report.collect import load_experiment
    from polyret.stats.difference import correct

    data = load_experiment(args.results[0])
    names = data.rows
    arms = [a.strip() for a in args.arms.split(",")]
    if len(arms) != 2:
        raise UserError(f"--arms {args.arms}: expected two names A,B")
    for arm in arms:
        if arm not in names:
            raise UserError(unknown_name("arm", arm, names))
    seeds = _seeds(args.seeds, data.spec.seeds) if args.seeds else None
    if seeds is not None:
        data.cells = {arm: [c for c in cells if c.seed in seeds] for arm, cells in data.cells.items()}
    pre = data.spec.preregistration
    valid = [pre.primary_metric, *pre.secondary_metrics]
    metrics = args.metric or [pre.primary_metric]
    for metric in metrics:
        if metric not in valid:
            raise UserError(unknown_name("metric", metric, valid))
    if args.margin is not None:
        from dataclasses import replace

        data.spec = replace(data.spec, preregistration=replace(pre, equivalence_margin=args.margin))
    rows = difference_rows(data, [Comparison(arms[0], arms[1])], metrics, seed=args.seed)
    for row in rows:
        row.family = f"{row.comparison} {row.metric}"
    correct(rows, key=lambda r: r.family)
    only = f" (seeds {', '.join(map(str, sorted(seeds)))} only)" if seeds is not None else ""
    head = (f"experiment {data.spec.name}: {arms[0]} - {arms[1]}{only}, seed-aware (queries and seeds "
            f"random); Holm over each metric's {len([r for r in rows if r.metric == metrics[0]])} cells")
    return rows, head, []


def _seeds(text: str, valid: list[int]) -> set[int]:
    """``"1,3"`` -> ``{1, 3}``; each must be one of the experiment's seeds."""
    from polyret.errors import UserError

    try:
        chosen = {int(x) for x in text.split(",") if x.strip()}
    except ValueError:
        raise UserError(f"--seeds {text}: expected seeds like 1,2,3") from None
    unknown = sorted(chosen - set(valid))
    if unknown or not chosen:
        raise UserError(f"--seeds {text}: the experiment's seeds are {', '.join(map(str, valid))}")
    return chosen


def format_rows(rows, with_task: bool = False) -> str:
    """The rows as a text table (numbers as the report prints them); the task named on each row when
    ``with_task`` or when the rows span several tasks."""
    from polyret.evaluation.report import table
    from polyret.report.tables import interval, number

    def p(v: float) -> str:
        return number(v, 4) if v >= 1e-4 or v != v else f"{v:.1e}"

    tasks = with_task or len({r.task for r in rows}) > 1
    body = [[r.comparison, f"{r.task} {r.subset}" if tasks else r.subset, r.metric,
             "up" if r.direction == "higher" else "down", r.n, f"{r.seeds_a}/{r.seeds_b}", number(r.mean_a),
             number(r.mean_b), number(r.diff, signed=True), interval(r.ci_low, r.ci_high), p(r.p),
             p(r.p_holm), "-" if r.margin is None else p(r.tost_p_holm), p(r.q_p), r.family,
             "*" if r.significant(0.05) else ""] for r in rows]
    headers = ("comparison", "setting", "metric", "better", "n", "runs", "system", "baseline", "diff",
               "95% CI", "p", "p Holm", "TOST p Holm", "p sign-flip", "family", "<.05")
    return table(headers, body)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
