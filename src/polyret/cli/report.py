"""polyret report: the statistics and the report (Markdown + one self-contained HTML) of an experiment."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  polyret report runs/rq-complex-beir
  polyret report docs/results/alpha-sweep

Reads DIR/experiment.yaml, the cells' results and DIR/preregistration.json; writes DIR/report.md,
DIR/report.html (plots embedded) and DIR/plots/*.png. A partial grid is reported with what is missing.
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="write report.md / report.html of an experiment folder",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", help="experiment folder (written by 'polyret experiment run')")
    p.set_defaults(func=run)


def run(args) -> int:
    from polyret.report.write import write_report

    md, page = write_report(args.dir)
    sys.stdout.write(f"wrote {md}\nreport: {page}\n")
    return 0
