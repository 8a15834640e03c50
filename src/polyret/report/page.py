"""The report's blocks as Markdown (``report.md``) and as one self-contained HTML page (its CSS,
plots as base64 data URIs, the analysts' Markdown rendered by markdown-it-py)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyret.report.formatting import table_html, tidy

CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;
overflow-wrap:anywhere}
.table-wrap{max-width:100%;overflow-x:auto;margin:.6em 0}
table{border-collapse:collapse;font-size:.82em}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;overflow-wrap:normal}
th{background:#f0f0f0}td.nowrap{white-space:nowrap}td.num{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
td.best{background:#e8f4e8}.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em}
.caveat{background:#fff3cd;border-left:4px solid #e0a030;padding:.4em .8em;font-size:.9em}
.verdict{font-weight:600;border-left:4px solid #4a7;padding-left:.6em}
.note{font-size:.85em;color:#555}pre{background:#f6f6f6;padding:.6em;font-size:.8em;white-space:pre-wrap}
code{background:#f3f3f3;padding:0 .2em;font-size:.9em}
@media (max-width:1000px){table{font-size:.66em}th,td{padding:2px 3px}}
figure{margin:1em 0}img{display:block;width:100%;height:auto}figcaption{font-size:.9em;color:#444}"""


@dataclass
class Block:
    kind: str  # h1 | h2 | p | md (Markdown) | banner | caveat | verdict | table | img | pre | list
    value: Any
    caption: str = ""


def markdown_html(text: str, shift: int = 2) -> str:
    """CommonMark (plus tables) to HTML with markdown-it-py; raw HTML in the text is escaped and
    headings move ``shift`` levels down (a ``#`` in the notes sits below the report's own h2)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + shift, 6)}"
    return md.renderer.render(tokens, md.options, {})


# ------------------------------------------------------------------------------------- output
def to_markdown(blocks: list[Block], plot_dir: str = "plots") -> str:
    parts, heading = [], ""
    for b in blocks:
        if b.kind in ("h1", "h2"):
            heading = b.value
            parts.append(("# " if b.kind == "h1" else "## ") + b.value)
        elif b.kind == "banner":
            parts.append(f"> **{b.value}**")
        elif b.kind == "caveat":
            parts.append(f"> **Caveat:** {b.value}")
        elif b.kind == "verdict":
            parts.append(f"**Answer:** {b.value}")
        elif b.kind == "table":
            table = tidy(b.value)
            title = "" if table.title == heading else f"**{table.title}**\n\n"
            parts.append(title + table.markdown())
        elif b.kind == "img":
            parts.append(f"![{b.caption}]({plot_dir}/{b.value})")
        elif b.kind == "pre":
            parts.append(f"```\n{b.value.rstrip()}\n```")
        elif b.kind == "list":
            parts.append("\n".join(f"- {x}" for x in b.value))
        else:  # p, md
            parts.append(str(b.value))
    return "\n\n".join(parts) + "\n"


def read_answer(report_md: str | Path) -> str | None:
    """The answer sentence of a written ``report.md`` (see :func:`to_markdown`); None when absent."""
    for line in Path(report_md).read_text(encoding="utf-8").splitlines():
        if line.startswith(ANSWER_PREFIX):
            return line[len(ANSWER_PREFIX):].strip()
    return None


ANSWER_PREFIX = "**Answer:**"


def to_html(blocks: list[Block], plots: dict[str, bytes]) -> str:
    body, heading = [], ""
    title = next((b.value for b in blocks if b.kind == "h1"), "polyret report")
    for b in blocks:
        text = html.escape(str(b.value)) if isinstance(b.value, str) else ""
        if b.kind in ("h1", "h2"):
            heading = b.value
            ident = b.value.lower().replace(" ", "-").replace("'", "")
            body.append(f"<{b.kind} id=\"{html.escape(ident)}\">{text}</{b.kind}>")
        elif b.kind == "banner":
            body.append(f"<div class=\"banner\"><b>{text}</b></div>")
        elif b.kind == "caveat":
            body.append(f"<p class=\"caveat\"><b>Caveat:</b> {text}</p>")
        elif b.kind == "verdict":
            body.append(f"<p class=\"verdict\">Answer: {text}</p>")
        elif b.kind == "table":
            table = tidy(b.value)
            head = "" if table.title == heading else f"<h3>{html.escape(table.title)}</h3>"
            body.append(head + table_html(table))
        elif b.kind == "img":
            data = base64.b64encode(plots[b.value]).decode("ascii")
            body.append(f"<figure><img alt=\"{html.escape(b.caption)}\" src=\"data:image/png;base64,{data}\">"
                        f"<figcaption>{html.escape(b.caption)}</figcaption></figure>")
        elif b.kind == "pre":
            body.append(f"<pre>{text}</pre>")
        elif b.kind == "md":
            body.append(f"<div class=\"notes\">{markdown_html(b.value)}</div>")
        elif b.kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in b.value) + "</ul>")
        else:
            body.append(f"<p>{text}</p>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


