"""``polyret data``: list, inspect and download the datasets of the catalog."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

EPILOG = """\
examples:
  polyret data list                          # every dataset, where it was found (or '-')
  polyret data stats xquad-r                 # {"languages": 11, "questions": 13090, ...}
  polyret data stats beir/scifact --data-dir ~/data
  polyret data stats squad-parallel          # the en/es/da/it training join minus XQuAD
  polyret data download beir/nfcorpus        # needs a network; verifies the checksum

data root (first hit): --data-dir, $POLYRET_DATA_DIR, ../shared/data (from the working dir, then
from the project checkout), the user cache (~/.cache/polyret/data). Only 'download' uses the network.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "data",
        help="list, inspect and download datasets",
        description="The dataset catalog: what polyret can load, where it is, counts, downloads.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION")
    fmt = argparse.ArgumentDefaultsHelpFormatter

    p = sub.add_parser(
        "list",
        help="the catalog with availability",
        formatter_class=fmt,
        description="Print every catalog dataset, its languages, licence and where it was found.",
    )
    p.add_argument("--data-dir", default=None, help="search only this data root")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=_list)

    p = sub.add_parser(
        "stats",
        help="JSON counts of a dataset",
        formatter_class=fmt,
        description="Read a dataset from local files and print its counts as JSON.",
    )
    p.add_argument("name", help="catalog name, e.g. xquad-r, beir/scifact, miracl/en, squad-parallel")
    p.add_argument(
        "--data-dir", default=None, help="data root to read from (default: search, see 'polyret data')"
    )
    p.set_defaults(func=_stats)

    p = sub.add_parser(
        "download",
        help="fetch a dataset (needs a network)",
        formatter_class=fmt,
        description="Download a dataset from its official location, verify its checksum "
        "where one is published, and install it atomically.",
    )
    p.add_argument("name", help="catalog name")
    p.add_argument(
        "--data-dir", default=None, help="where to install (default: $POLYRET_DATA_DIR or the user cache)"
    )
    p.add_argument("--force", action="store_true", help="download again even if the files are present")
    p.set_defaults(func=_download)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _list(args) -> int:
    from polyret.data.catalog import CATALOG, is_available

    rows = []
    for name, info in sorted(CATALOG.items()):
        where = is_available(name, args.data_dir)
        rows.append(
            {
                "name": name,
                "kind": info.kind,
                "languages": list(info.languages),
                "licence": info.licence,
                "available": str(where) if where else None,
                "downloadable": bool(info.sources or info.parts),
                "description": info.description,
            }
        )
    if args.json:
        _out(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        langs = ",".join(r["languages"]) if len(r["languages"]) <= 6 else f"{len(r['languages'])} languages"
        _out(f"{r['name']:<{width}}  {r['kind']:<8}  {langs:<20}  {r['available'] or '-'}")
    return 0


def _stats(args) -> int:
    from polyret.data.catalog import get_info
    from polyret.data.stats import dataset_stats

    get_info(args.name)  # an unknown name: UnknownDataset, printed by the CLI's error boundary
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stats = dataset_stats(args.name, args.data_dir)
    for w in caught:
        sys.stderr.write(f"warning: {w.message}\n")
    _out(json.dumps(stats, indent=2, ensure_ascii=False))
    return 0


def _download(args) -> int:
    from polyret.data.catalog import get_info
    from polyret.data.download import download

    get_info(args.name)
    folder = download(args.name, args.data_dir, force=args.force)
    _out(str(folder))
    return 0


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
