"""Builders for the small data files the dataset-layer tests write into tmp_path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def write_json(path: Path, obj, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_lines(path: Path, lines: list[str], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(line + "\n" for line in lines)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def squad_doc(articles: list[tuple[str, list[tuple[str, list[tuple[str, str, str]]]]]]) -> dict:
    """articles: [(title, [(context, [(qid, question, answer)])])]; answer_start = first occurrence."""
    data = []
    for title, paragraphs in articles:
        pars = []
        for context, qas in paragraphs:
            pars.append(
                {
                    "context": context,
                    "qas": [
                        {"id": qid, "question": q, "answers": [{"text": a, "answer_start": context.find(a)}]}
                        for qid, q, a in qas
                    ],
                }
            )
        data.append({"title": title, "paragraphs": pars})
    return {"version": "1.1", "data": data}


def lareqa_paragraph(sentences: list[str], qas: list[tuple[str, str, int]], sep: str = " ") -> dict:
    """A LAReQA paragraph whose breaks match its sentences exactly; qas: (qid, question, answer_start)."""
    context = sep.join(sentences)
    breaks, pos = [], 0
    for s in sentences:
        breaks.append([pos, pos + len(s)])
        pos += len(s) + len(sep)
    return {
        "context": context,
        "sentences": sentences,
        "sentence_breaks": breaks,
        "qas": [
            {"id": qid, "question": q, "answers": [{"text": context[st : st + 3], "answer_start": st}]}
            for qid, q, st in qas
        ],
    }
