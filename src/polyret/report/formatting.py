"""Presentation of the report's tables: numbers that read well and tables that fit the page.

Pure functions over :class:`~polyret.report.tables.Table` (the tables' content is made in
:mod:`.tables`; here it is only tidied, split and marked up). A table fits a text column when it has
few columns: constant columns move into the title, and a wide table splits into column groups that
each keep the row labels.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from polyret.report.tables import Table

# A signed zero as shown, e.g. "-0.0000" or "+0.000" (the value rounds to zero at the digits shown).
_SIGNED_ZERO = re.compile(r"(?<![\w.])[-+](0\.0+|0)(?![\d.])")
# Cells that are numbers, intervals or "mean ± std": kept on one line (CSS class "num").
_NUMERIC = re.compile(r"^[\[(]?[-+−]?(\d|\.\d)[\d.,e+\-±% /\])]*$")


SHORT = 24  # characters: a cell this short without spaces is never broken


def tidy_number(text: str) -> str:
    """``text`` with every signed zero unsigned (``[-0.0000, +0.0066]`` -> ``[0.0000, +0.0066]``)."""
    return _SIGNED_ZERO.sub(r"\1", text)


def is_numeric(text: str) -> bool:
    return bool(_NUMERIC.match(text.strip()))


def tidy(table: Table) -> Table:
    """The same table with signed zeros unsigned in every cell."""
    return Table(table.title, list(table.header), [[tidy_number(c) for c in row] for row in table.rows],
                 set(table.best), table.note)


def drop_constant_columns(table: Table, keep: int = 1) -> Table:
    """Columns after the first ``keep`` whose cell is the same in every row (of two or more) leave the
    table and are named in its title (``metric: nDCG@10``); columns empty in every row go without a word."""
    if len(table.rows) < 2:
        return table
    constant = [c for c in range(keep, len(table.header))
                if len({row[c] for row in table.rows}) == 1]
    if not constant:
        return table
    stated = [f"{table.header[c]}: {table.rows[0][c]}" for c in constant if table.rows[0][c].strip()]
    kept = [c for c in range(len(table.header)) if c not in constant]
    title = table.title + (f" ({'; '.join(stated)})" if stated else "")
    return _select(table, kept, title)


def split_columns(table: Table, groups: Sequence[tuple[str, Sequence[int]]], keep: int = 1) -> list[Table]:
    """One table per ``(title, column indices)`` group, each with the first ``keep`` columns (the row
    labels) in front; bold cells follow their column."""
    return [_select(table, [*range(keep), *cols], title) for title, cols in groups if cols]


def split_rows(table: Table, key: Sequence[int]) -> list[Table]:
    """One table per distinct value of the ``key`` columns, in first-seen order (then each can drop
    its now constant key columns)."""
    order: dict[tuple[str, ...], list[int]] = {}
    for r, row in enumerate(table.rows):
        order.setdefault(tuple(row[c] for c in key), []).append(r)
    out = []
    for rows in order.values():
        best = {(rows.index(r), c) for r, c in table.best if r in rows}
        out.append(Table(table.title, list(table.header), [table.rows[r] for r in rows], best, table.note))
    return out


def _select(table: Table, cols: Sequence[int], title: str) -> Table:
    index = {c: i for i, c in enumerate(cols)}
    return Table(title, [table.header[c] for c in cols], [[row[c] for c in cols] for row in table.rows],
                 {(r, index[c]) for r, c in table.best if c in index}, table.note)


def table_html(table: Table) -> str:
    """``<table>`` in a horizontally scrolling wrapper (so that a page never overflows); numeric cells
    carry class ``num`` (one line, right-aligned), the best cells ``best``."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, text in enumerate(row):
            short = len(text) <= SHORT and " " not in text  # a name like "bm25-failure": one line too
            classes = [k for k, on in (("num", is_numeric(text)), ("nowrap", short and not is_numeric(text)),
                                       ("best", (r, c) in table.best)) if on]
            attr = f" class=\"{' '.join(classes)}\"" if classes else ""
            inner = html.escape(text)
            cells.append(f"<td{attr}>{f'<b>{inner}</b>' if (r, c) in table.best else inner}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    note = f"<p class=\"note\">{html.escape(table.note)}</p>" if table.note else ""
    return (f"<div class=\"table-wrap\"><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>{note}")
