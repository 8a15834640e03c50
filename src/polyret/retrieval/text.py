"""The one rule for the text a document is embedded or indexed as (dense search, BM25, mining, files)."""

from __future__ import annotations


def join_title(title: str | None, text: str) -> str:
    """``title + " " + text`` (BEIR's convention, stripped), or the text unchanged without a title."""
    return f"{title} {text}".strip() if title else text


def document_text(doc) -> str:
    """The text of a ``Document`` (anything with ``title`` and ``text``) as it is embedded."""
    return join_title(getattr(doc, "title", None), doc.text)
