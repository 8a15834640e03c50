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
Dense search is exact (chunked, ties by doc id) unless --faiss; embeddings are cached on disk
(--no-cache to skip). OUTPUT.json records the model, fingerprint / BM25 tokenizer and settings.
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
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from polyret.retrieval.pipeline import load_corpus, load_queries, retrieve
    from polyret.retrieval.trec import write_run

    if args.bm25 == (args.model is not None):
        raise SystemExit("give exactly one of --model NAME or --bm25")
    options = {}
    if args.faiss == "ivf":
        options = {"nprobe": args.nprobe}
    elif args.faiss == "hnsw":
        options = {"ef_search": args.ef_search}
    corpus, queries = load_corpus(args.corpus), load_queries(args.queries)
    run_, info = retrieve(corpus, queries, model=args.model, top_k=args.top_k, backend=args.faiss or "exact",
                          bm25=args.bm25, language=args.language, batch_size=args.batch_size,
                          max_tokens=args.max_tokens, cache=not args.no_cache, faiss_options=options,
                          device=args.device)
    out = write_run(run_, args.output, tag=args.tag)
    info.update({"corpus": str(args.corpus), "queries": str(args.queries), "documents": len(corpus),
                 "n_queries": len(queries), "output": str(out)})
    Path(f"{out}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {sum(len(r) for r in run_.values())} results for {len(run_)} queries to {out}\n")
    return 0
