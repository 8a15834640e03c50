"""``polyret search``: retrieve the top-k documents of a corpus for each query -> a TREC run file."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  polyret search --model multilingual-e5-small --corpus ../shared/data/beir/scifact \\
      --queries ../shared/data/beir/scifact/queries.jsonl --top-k 100 --output runs/e5-scifact.trec
  polyret search --bm25 --corpus data/beir/scifact --queries data/beir/scifact/queries.jsonl \\
      --output bm25.trec
  polyret search --model all-MiniLM-L6-v2 --corpus corpus.jsonl --queries topics.tsv --faiss hnsw \\
      --output r.trec

CORPUS is a BEIR folder (corpus.jsonl inside) or a corpus.jsonl file; documents are embedded as
title + " " + text. QUERIES is queries.jsonl ('_id', 'text') or a 'qid<TAB>query' file.
Dense search is exact (FAISS's kernel, ties by doc id) unless --faiss; embeddings are cached on disk
(--no-cache to skip). A document whose id equals the query id is dropped, as 'polyret evaluate'
does (ArguAna-style duplicates; --keep-self-hits keeps it). --precision auto encodes in bf16 weights
where the hardware is fast at it, fp32 elsewhere. OUTPUT is written atomically; OUTPUT.json
(written after it) records the model, fingerprint / BM25 tokenizer, precision and settings.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("search", help="retrieve top-k documents per query into a TREC run",
                              description=__doc__, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="built-in name, model folder or Hub id (dense search)")
    p.add_argument("--bm25", action="store_true", help="BM25 (bm25s) instead of a dense model")
    p.add_argument("--language", default="en",
                   help="BM25 stemmer / stopwords language (default: %(default)s)")
    p.add_argument("--corpus", required=True, help="BEIR folder or corpus.jsonl")
    p.add_argument("--queries", required=True, help="queries.jsonl or qid<TAB>query file")
    p.add_argument("--top-k", type=int, default=100, help="documents per query (default: %(default)s)")
    p.add_argument("--output", required=True, help="TREC run file to write")
    p.add_argument("--tag", default="polyret", help="run tag, the 6th TREC column (default: %(default)s)")
    p.add_argument("--faiss", choices=("flat", "ivf", "hnsw"), default=None,
                   help="search through a FAISS index instead of exact search (default: exact)")
    p.add_argument("--nprobe", type=int, default=16, help="IVF lists probed (default: %(default)s)")
    p.add_argument("--ef-search", type=int, default=128, help="HNSW efSearch (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="encoding batch size (default: %(default)s)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="token budget per batch, e.g. 4096 with --batch-size 256 (default: none)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    p.add_argument("--device", default=None, help="cpu, cuda (default: cuda if available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="encoding precision: bf16 weights or fp32 (default: %(default)s = bf16 on GPU and on "
                   "CPUs with fast bf16, else fp32)")
    p.add_argument("--keep-self-hits", action="store_true",
                   help="keep documents whose id equals the query id (dropped by default, as in evaluate)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from polyret.atomic import clean_stale_temporaries, write_json
    from polyret.cli.outputs import refuse_input_as_output
    from polyret.errors import UserError
    from polyret.retrieval.pipeline import BM25, load_corpus, load_queries, retrieve
    from polyret.retrieval.trec import check_writable, write_run

    if args.bm25 == (args.model is not None):
        raise UserError("give exactly one of --model NAME or --bm25")
    if args.top_k < 1:
        raise UserError(f"--top-k must be >= 1, not {args.top_k}")
    options = {}
    if args.faiss == "ivf":
        options = {"nprobe": args.nprobe}
    elif args.faiss == "hnsw":
        options = {"ef_search": args.ef_search}
    refuse_input_as_output({"--output": args.output, "--output (its manifest)": f"{args.output}.json"},
                           {"--corpus": args.corpus, "--queries": args.queries})
    corpus, queries = load_corpus(args.corpus), load_queries(args.queries)
    check_writable(queries, corpus, tag=args.tag)  # refused now, not after the search
    retriever = BM25
    if args.model is not None:
        from polyret.modeling.encoder import set_inference_precision
        from polyret.modeling.registry import load_model

        retriever = load_model(args.model, device=args.device)
        set_inference_precision(retriever, args.precision)
    run_, info = retrieve(retriever, corpus, queries, top_k=args.top_k,
                          drop_self_hits=not args.keep_self_hits, batch_size=args.batch_size,
                          max_tokens=args.max_tokens,
                          precision=None if args.bm25 else args.precision, cache=not args.no_cache,
                          backend=args.faiss or "exact", faiss_options=options, language=args.language)
    manifest = f"{args.output}.json"
    clean_stale_temporaries(Path(args.output).parent)  # leftovers of killed earlier writes
    Path(manifest).unlink(missing_ok=True)  # never beside a run it does not describe
    out = write_run(run_, args.output, tag=args.tag)
    info.update({"model": args.model, "corpus": str(args.corpus), "queries": str(args.queries),
                 "documents": len(corpus), "n_queries": len(queries), "output": str(out), "tag": args.tag})
    write_json(manifest, info)
    sys.stdout.write(f"wrote {sum(len(r) for r in run_.values())} results for {len(run_)} queries to {out}\n")
    return 0
