"""polyret evaluate: one model on one task -> a results JSON and a summary table."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret evaluate --model multilingual-e5-small --task xquad-r --output results/e5-xquad-r.json
  polyret evaluate --model bm25 --task beir/scifact --output results/bm25-scifact.json
  polyret evaluate --model runs/hybrid/final --task mlqa-r --candidate-text sentence+context
  polyret evaluate --model runs/hybrid/final --task beir/arguana --max-query-length 512 \\
      --max-passage-length 512
  polyret evaluate --model all-MiniLM-L6-v2 --task beir/path/to/my-beir-folder --max-queries 200
  polyret evaluate --model multilingual-e5-small --task miracl/sw --corpus miracl-sw-corpus.jsonl
  polyret evaluate --model bm25 --task birco/wtb --output results/bm25-birco-wtb.json

With --output, a run-based task also keeps its ranking beside the result (<output stem>.run.trec.gz,
top 100 per query after the task's rules): 'polyret score' of it reproduces the per-query scores.

LAReQA tasks (xquad-r, mlqa-r) report Mono, Cross and Multi AP (mean: mAP) / R@1 / R@10 / RR and
language bias;
BEIR tasks nDCG@10, R@100, MAP (AP@100), MRR@10 and the complex-query subsets (see 'polyret subsets');
MIRACL nDCG@10 and R@100 as 'trec_eval -c -M 100'; BIRCO (each query ranks its own pool only;
512 tokens both sides unless set) nDCG@10, MAP, MRR@10, R@5, R@10.
Results keep per-query scores for 'polyret compare'
and record the lengths and precision used to encode.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate a model (or BM25) on XQuAD-R, MLQA-R, BEIR, MIRACL or BRIGHT",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        required=True,
        help="built-in model name (multilingual-e5-small, all-MiniLM-L6-v2), a saved model folder, or 'bm25'",
    )
    p.add_argument("--task", required=True,
                   help="xquad-r | mlqa-r | lareqa/FOLDER | beir/NAME_OR_FOLDER | miracl/LANG | "
                   "bright/NAME | birco/NAME_OR_FOLDER (a wrong name lists every registered form)")
    p.add_argument("--data-dir", default=None, help="data root (default: the catalog's search path)")
    p.add_argument("--output", "-o", default=None, help="results JSON to write (default: print only)")
    p.add_argument("--split", default="test", help="BEIR qrels split (default: %(default)s; MIRACL: dev)")
    p.add_argument("--batch-size", type=int, default=64, help="encoding batch size (default: %(default)s)")
    p.add_argument(
        "--max-queries",
        type=int,
        default=None,
        help="evaluate a seeded subsample of N queries (LAReQA: N question ids); corpora and pools "
        "stay whole; the result is labelled as a subsample (default: all)",
    )
    p.add_argument("--seed", type=int, default=0, help="subsampling seed (default: %(default)s)")
    p.add_argument(
        "--candidate-text",
        choices=("sentence", "sentence+context"),
        default="sentence",
        help="LAReQA candidate text (default: %(default)s)",
    )
    p.add_argument(
        "--languages",
        nargs="+",
        default=None,
        help="LAReQA: only these languages (their queries and their pool); default: every <lang>.json",
    )
    p.add_argument(
        "--top-k", type=int, default=100, help="documents retrieved per query (default: %(default)s)"
    )
    p.add_argument(
        "--max-query-length",
        type=int,
        default=None,
        help="query truncation in tokens for this evaluation (default: the model's own; give the same "
        "value for every model you compare: 'compare' refuses results encoded with different lengths)",
    )
    p.add_argument(
        "--max-passage-length",
        type=int,
        default=None,
        help="passage truncation in tokens for this evaluation (default: the model's own)",
    )
    p.add_argument(
        "--precision",
        choices=("fp32", "bf16", "auto"),
        default="auto",
        help="encoding precision: bf16 weights or fp32; auto (the default, as for embed and search) = bf16 "
        "on GPU, and on CPUs with native bf16 that a cached micro-benchmark shows faster, fp32 elsewhere "
        "(recorded in the result)",
    )
    p.add_argument(
        "--corpus",
        default=None,
        help="MIRACL corpus (jsonl / folder of jsonl) or BRIGHT documents folder (not bundled)",
    )
    p.add_argument(
        "--keep-self-hits",
        action="store_true",
        help="BEIR: do not remove documents whose id equals the query id (default: removed, counted)",
    )
    p.add_argument("--no-subsets", action="store_true", help="skip the complex-query subsets")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.encoding import load_retriever
    from polyret.evaluation.evaluator import evaluate_keeping_run
    from polyret.evaluation.kept_runs import record_kept_run
    from polyret.evaluation.registry import parse_task
    from polyret.evaluation.report import summarize

    parse_task(args.task)  # an unknown name is refused before the model loads

    config = EvalConfig(
        task=args.task,
        data_dir=args.data_dir,
        split=args.split,
        batch_size=args.batch_size,
        max_queries=args.max_queries,
        seed=args.seed,
        candidate_text=args.candidate_text,
        languages=args.languages,
        top_k=args.top_k,
        drop_self_hits=not args.keep_self_hits,
        max_query_length=args.max_query_length,
        max_passage_length=args.max_passage_length,
        precision=args.precision,
        corpus=args.corpus,
        subsets=not args.no_subsets,
        cache=not args.no_cache,
    )
    model = load_retriever(args.model)
    result, run = evaluate_keeping_run(model, config, model_name=args.model)
    _out(summarize(result))
    if args.output:
        if run is not None:
            record_kept_run(run, result, args.output)
        path = result.save(args.output)
        _out(f"\nwrote {path}")
        if run is not None:
            _write_run(run, path)
    return 0


def _write_run(run, result_path) -> None:
    """The kept run beside the result; if it cannot be written, the result naming it goes too."""
    from polyret.evaluation.kept_runs import write_kept_run

    try:
        _out(f"kept the run: {write_kept_run(run, result_path)}")
    except BaseException:
        result_path.unlink(missing_ok=True)
        raise


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
