"""Counts for ``polyret data stats NAME``: one JSON-ready dict per catalog dataset."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from polyret.data.catalog import dataset_path, get_info


def dataset_stats(name: str, data_dir: str | Path | None = None) -> dict:
    """Counts of a catalog dataset, read from its local files (see each ``_*_stats``)."""
    info = get_info(name)
    fn = {
        "lareqa": _lareqa_stats,
        "beir": _beir_stats,
        "squad": _squad_stats,
        "miracl": _miracl_stats,
        "bright": _bright_stats,
        "parallel": _parallel_stats,
    }[info.kind]
    out = {"name": name, "kind": info.kind}
    out.update(fn(name, data_dir))
    return out


def _lareqa_stats(name: str, data_dir) -> dict:
    from polyret.data.lareqa import load_lareqa

    data = load_lareqa(dataset_path(name, data_dir))
    links = Counter(len(v) for v in data.question_languages().values())
    per_lang = {}
    for lang in data.languages:
        cands = data.candidates_by_lang(lang)
        per_lang[lang] = {
            "questions": len(data.questions[lang]),
            "candidates": len(cands),
            "unique_candidate_texts": len({c.sentence for c in cands}),
            "paragraphs": len({c.paragraph_id for c in cands}),
            "articles": len(data.titles[lang]),
            "answers_past_sentence": data.answers_past_sentence[lang],
        }
    return {
        "languages": len(data.languages),
        "language_codes": list(data.languages),
        "questions": sum(v["questions"] for v in per_lang.values()),
        "candidates": len(data.candidates),
        "question_ids": sum(links.values()),
        "question_ids_by_language_count": {str(k): links[k] for k in sorted(links, reverse=True)},
        "shifted_sentence_breaks": data.shifted_breaks,
        "per_language": per_lang,
    }


def _beir_stats(name: str, data_dir) -> dict:
    from polyret.data.beir import beir_splits, read_corpus, read_qrels_tsv, read_queries, validate_qrels

    folder = dataset_path(name, data_dir)
    corpus = read_corpus(folder / "corpus.jsonl")
    queries = read_queries(folder / "queries.jsonl")
    splits = {}
    for split in beir_splits(folder):
        path = folder / "qrels" / f"{split}.tsv"
        raw, first_line = read_qrels_tsv(path)
        kept, skipped = validate_qrels(raw, path, queries, corpus, first_line)
        splits[split] = {
            "queries_in_qrels": len(raw),
            "judged_queries": len(kept),
            "qrels": sum(map(len, kept.values())),
            "qrels_skipped_missing_doc": skipped,
            "relevant": sum(r > 0 for docs in kept.values() for r in docs.values()),
        }
    return {"docs": len(corpus), "queries": len(queries), "splits": splits}


def _squad_stats(name: str, data_dir) -> dict:
    from polyret.data.squad import squad_counts

    info = get_info(name)
    files = info.find_files(dataset_path(name, data_dir)) or []
    per_lang: dict[str, Counter] = {}
    for entry, path in zip(info.files, files, strict=True):
        lang = info.file_langs[entry if isinstance(entry, str) else entry[0]]
        per_lang.setdefault(lang, Counter()).update(squad_counts(path))
    return {
        "languages": len(per_lang),
        "questions": sum(c["questions"] for c in per_lang.values()),
        "files": [p.name for p in files],
        "per_language": {lang: dict(c) for lang, c in sorted(per_lang.items())},
    }


def _miracl_stats(name: str, data_dir) -> dict:
    from polyret.data.miracl import load_miracl

    lang = name.split("/", 1)[1]
    splits = {}
    for split in ("dev", "train"):
        try:
            data = load_miracl(lang, split, data_dir)
        except FileNotFoundError:
            continue
        splits[split] = {
            "queries": len(data.queries),
            "judged_queries": len(data.qrels),
            "qrels": sum(map(len, data.qrels.values())),
            "relevant": sum(r > 0 for d in data.qrels.values() for r in d.values()),
        }
    return {"language": lang, "splits": splits}


def _bright_stats(name: str, data_dir) -> dict:
    from polyret.data.bright import load_bright

    subset = name.split("/", 1)[1]
    plain = load_bright(subset, data_dir)
    fixed = load_bright(subset, data_dir, qrels="fixed")
    return {
        "queries": len(plain.queries),
        "qrels": sum(map(len, plain.qrels.values())),
        "qrels_fixed": sum(map(len, fixed.qrels.values())),
        "with_reasoning": sum(bool(r.reasoning) for r in plain.records.values()),
        "queries_with_excluded_ids": len(plain.excluded),
        "excluded_ids": sum(map(len, plain.excluded.values())),
    }


def normalise_title(title: str) -> str:
    """Titles compare case- and underscore-insensitively (SQuAD uses ``Prime_number``)."""
    return " ".join(title.replace("_", " ").split()).casefold()


def _parallel_stats(name: str, data_dir) -> dict:
    from polyret.data.parallel import JoinReport, evaluation_titles, join_stats, load_training_items

    report = JoinReport()
    items = load_training_items(name, data_dir, report=report)
    out = join_stats(items)
    out["dropped"] = {
        "overlapping_xquad_items": report.excluded_items,
        "overlapping_xquad_passages": report.excluded_passages,
        "unverifiable_items_without_en": report.unverifiable_items,
    }
    train_titles = {normalise_title(it.pairs["en"].title) for it in items if "en" in it.pairs}
    overlap = {}
    for evaluation in ("xquad", "xquad-r", "mlqa-r"):
        try:
            titles = {normalise_title(t) for t in evaluation_titles(evaluation, data_dir)}
        except FileNotFoundError:
            continue
        shared = sorted(train_titles & titles)
        overlap[evaluation] = {"shared_titles": len(shared), "examples": shared[:5]}
    out["article_title_overlap"] = overlap
    return out
