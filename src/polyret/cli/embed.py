"""``polyret embed``: embed a text file (.txt: a text per line; .jsonl: a 'text' field) into a .npy matrix."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  polyret embed --model multilingual-e5-small --input questions.txt --side query --output q.npy
  polyret embed --model all-MiniLM-L6-v2 --input corpus.jsonl --side passage --output docs.npy --cache
  torchrun --standalone --nproc_per_node 4 -m polyret embed --model runs/hybrid/final --input corpus.jsonl \\
      --side passage --output docs.npy    # sharded over 4 processes, merged into docs.npy

Writes OUTPUT (float32, one row per input line / record, in input order), OUTPUT.ids.txt (line
numbers for .txt, '_id'/'id' for .jsonl; an id with a line break is an error) and OUTPUT.json
(model, fingerprint, precision, settings and the sha256 of the other two files). Each file is
written atomically and OUTPUT.json last: without it the other two are incomplete.
--precision auto encodes in bf16 weights where the hardware is fast at it, fp32 elsewhere.
Non-finite embeddings (a diverged model) stop the command.
Texts longer than the side's max length are truncated (one warning with the count). Bytes that are
not UTF-8 stop with the file and line, unless --encoding-errors replace.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("embed", help="embed texts from a file into a .npy matrix", description=__doc__,
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True,
                   help="built-in (multilingual-e5-small, all-MiniLM-L6-v2), a model folder or a Hub id")
    p.add_argument("--input", required=True, help="a .txt (one text per line) or .jsonl file")
    p.add_argument("--side", choices=("query", "passage"), default="passage",
                   help="which prefix / max length to use (default: %(default)s)")
    p.add_argument("--output", required=True, help="the .npy file to write")
    p.add_argument("--batch-size", type=int, default=64, help="most texts per batch (default: %(default)s)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="token budget per batch (texts x longest); with a large --batch-size it lets short "
                   "texts share big batches, e.g. --batch-size 256 --max-tokens 4096 (~2x faster on "
                   "CPU in benchmarks/RESULTS.md) (default: none)")
    p.add_argument("--encoding-errors", choices=("strict", "replace"), default="strict",
                   help="non-UTF-8 input: stop with file:line, or replace bad bytes (default: %(default)s)")
    p.add_argument("--cache", action="store_true", help="read/write the on-disk embedding cache")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="encoding precision: bf16 weights or fp32 (default: %(default)s = bf16 on GPU and on "
                   "CPUs with fast bf16, else fp32)")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.cli.outputs import refuse_input_as_output
    from polyret.errors import UserError
    from polyret.retrieval.embed import embed_file

    if not str(args.output).endswith(".npy"):
        raise UserError(f"--output must end in .npy, not {args.output!r}")
    refuse_input_as_output({"--output": args.output}, {"--input": args.input})
    info = embed_file(args.model, args.input, args.side, args.output, batch_size=args.batch_size,
                      max_tokens=args.max_tokens, errors=args.encoding_errors, use_cache=args.cache,
                      device=args.device, precision=args.precision)
    import sys

    from polyret.retrieval.embed import dist_env

    if dist_env()[0] == 0:
        sys.stdout.write(f"wrote {info['rows']} x {info['dim']} embeddings to {info['output']}\n")
    return 0
