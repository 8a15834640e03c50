"""Parallel QA training items: SQuAD-format pairs joined by question id across languages.

Decisions (documented, tested):

- An item is one question id with its pair in every language that has it. ``load_training_items``
  keeps items present in at least ``min_languages`` languages (default 1): the trainer draws
  monolingual batches from any language an item has and cross-lingual pairs only from items with
  two or more languages (``ParallelItem.languages``).
- Evaluation overlap is found by **context text** (whitespace-normalised), never by ids: an item is
  dropped when any of its passages equals a context of an excluded evaluation set, and so is every
  item that shares a passage (same language, same paragraph) with a dropped one.
- Translations cannot be matched against an evaluation set's text in another translation, so with
  ``exclude`` set, items without a pair in ``anchor`` (English) are dropped as *unverifiable*
  (the 714 Italian SQuAD-it questions with ids of their own); the count is reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from polyret.types import ParallelItem, QAPair


def normalise_text(text: str) -> str:
    """Collapse all whitespace runs to one space and strip (for context matching)."""
    return " ".join(text.split())


@dataclass
class JoinReport:
    """What a join dropped: items matching an evaluation context, unverifiable, too few languages."""

    excluded_items: int = 0
    excluded_passages: dict[str, int] = field(default_factory=dict)  # lang -> passages dropped
    unverifiable_items: int = 0
    below_min_languages: int = 0


def parallel_join(
    pairs: Iterable[QAPair],
    exclude_contexts: Iterable[str] | None = None,
    report: JoinReport | None = None,
) -> list[ParallelItem]:
    """Group pairs by ``item_id`` (first-seen order); drop items overlapping ``exclude_contexts``.

    Two pairs with the same item id and language are an error.
    """
    items: dict[str, dict[str, QAPair]] = {}
    for pair in pairs:
        langs = items.setdefault(pair.item_id, {})
        if pair.lang in langs:
            raise ValueError(
                f"item {pair.item_id!r} has two {pair.lang!r} pairs ({langs[pair.lang].passage_id}, "
                f"{pair.passage_id})"
            )
        langs[pair.lang] = pair
    report = report if report is not None else JoinReport()
    if exclude_contexts is not None:
        banned = {normalise_text(c) for c in exclude_contexts}
        bad_passages = {
            (p.lang, p.passage_id)
            for ps in items.values()
            for p in ps.values()
            if normalise_text(p.passage) in banned
        }
        while True:  # spread to every passage that holds a pair of a dropped item
            grown = {
                (p.lang, p.passage_id)
                for ps in items.values()
                if any((p.lang, p.passage_id) in bad_passages for p in ps.values())
                for p in ps.values()
            }
            if grown <= bad_passages:
                break
            bad_passages |= grown
        kept = {
            k: ps
            for k, ps in items.items()
            if not any((p.lang, p.passage_id) in bad_passages for p in ps.values())
        }
        report.excluded_items += len(items) - len(kept)
        report.excluded_passages = dict(sorted(Counter(lang for lang, _ in bad_passages).items()))
        items = kept
    return [ParallelItem(k, dict(sorted(ps.items()))) for k, ps in items.items()]


def join_stats(items: Sequence[ParallelItem], anchor: str = "en") -> dict:
    """Counts for ``polyret data stats squad-parallel``.

    ``items``, per language, per language set (``"da+en+es+it"``), and for the ``anchor``
    language: items with at least one translation, per other language, and in every language.
    """
    langs = sorted({lang for it in items for lang in it.pairs})
    per_lang = {lang: sum(lang in it.pairs for it in items) for lang in langs}
    per_set = Counter("+".join(it.languages) for it in items)
    anchored = [it for it in items if anchor in it.pairs]
    return {
        "items": len(items),
        "languages": langs,
        "per_language": per_lang,
        "per_language_set": dict(sorted(per_set.items(), key=lambda kv: (-kv[1], kv[0]))),
        "cross_lingual_items": sum(len(it.pairs) >= 2 for it in items),
        f"{anchor}_with_translation": sum(len(it.pairs) >= 2 for it in anchored),
        f"{anchor}_pairs_with": {
            lang: sum(lang in it.pairs for it in anchored) for lang in langs if lang != anchor
        },
        "in_all_languages": sum(len(it.pairs) == len(langs) for it in items),
        "passages_per_language": {
            lang: len({it.pairs[lang].passage_id for it in items if lang in it.pairs}) for lang in langs
        },
    }


# ---------------------------------------------------------------- catalog-driven loading

SQUAD_PARALLEL_SOURCES = {
    "en": "squad-dev",
    "es": "squad-translated/es",
    "da": "squad-translated/da",
    "it": "squad-translated/it",
}


def read_dataset_pairs(name: str, data_dir: str | Path | None = None) -> list[QAPair]:
    """All pairs of a SQuAD-kind catalog dataset (``xquad``, ``squad-dev``, ``qa-mono/ar`` ...)."""
    from polyret.data.catalog import dataset_path, get_info
    from polyret.data.squad import read_squad_pairs

    info = get_info(name)
    if info.kind != "squad":
        raise ValueError(f"{name} is a {info.kind} dataset, not SQuAD-format QA")
    folder = dataset_path(name, data_dir)
    files = info.find_files(folder) or []
    pairs: list[QAPair] = []
    offsets: Counter[str] = Counter()
    for entry, path in zip(info.files, files, strict=True):
        lang = info.file_langs[entry if isinstance(entry, str) else entry[0]]
        got = read_squad_pairs(path, lang, first_index=offsets[lang])
        if got:  # the next file of the same language continues the paragraph numbering
            offsets[lang] = 1 + max(int(p.passage_id.rsplit(":", 1)[1]) for p in got)
        pairs += got
    return pairs


def evaluation_contexts(name: str, data_dir: str | Path | None = None) -> set[str]:
    """Normalised paragraph texts of an evaluation set (``xquad``, ``xquad-r``, ``mlqa-r``, SQuAD kinds)."""
    from polyret.data.catalog import dataset_path, get_info
    from polyret.data.squad import iter_squad_paragraphs

    info = get_info(name)
    if info.kind not in ("squad", "lareqa"):
        raise ValueError(f"cannot exclude {name!r}: only SQuAD-format or LAReQA sets have paragraphs")
    files = info.find_files(dataset_path(name, data_dir)) or []
    return {normalise_text(par["context"]) for f in files for _, _, par in iter_squad_paragraphs(f)}


def evaluation_titles(name: str, data_dir: str | Path | None = None) -> set[str]:
    """Article titles of a SQuAD-format / LAReQA set (for reporting title overlap)."""
    from polyret.data.catalog import dataset_path, get_info
    from polyret.data.squad import iter_squad_paragraphs

    info = get_info(name)
    files = info.find_files(dataset_path(name, data_dir)) or []
    return {title for f in files for _, title, _ in iter_squad_paragraphs(f)}


def load_training_items(
    name: str = "squad-parallel",
    data_dir: str | Path | None = None,
    languages: Sequence[str] = ("en", "es", "da", "it"),
    exclude: Sequence[str] = ("xquad",),
    min_languages: int = 1,
    anchor: str = "en",
    report: JoinReport | None = None,
) -> list[ParallelItem]:
    """The parallel training join (see the module docstring for what is dropped and why).

    ``exclude`` names evaluation sets whose paragraphs must not be trained on (default XQuAD,
    whose 240 paragraphs are part of SQuAD dev; use it whenever XQuAD-R is evaluated).
    """
    if name != "squad-parallel":
        raise ValueError(f"unknown training join {name!r} (known: squad-parallel)")
    unknown = [lang for lang in languages if lang not in SQUAD_PARALLEL_SOURCES]
    if unknown:
        raise ValueError(f"squad-parallel has no {unknown}; available: {sorted(SQUAD_PARALLEL_SOURCES)}")
    pairs = [p for lang in languages for p in read_dataset_pairs(SQUAD_PARALLEL_SOURCES[lang], data_dir)]
    report = report if report is not None else JoinReport()
    contexts: set[str] | None = None
    if exclude:
        contexts = set().union(*(evaluation_contexts(n, data_dir) for n in exclude))
    items = parallel_join(pairs, contexts, report)
    if exclude:
        if anchor not in languages:
            raise ValueError(
                f"excluding {list(exclude)} needs the anchor language {anchor!r} among {languages}"
            )
        kept = [it for it in items if anchor in it.pairs]
        report.unverifiable_items = len(items) - len(kept)
        items = kept
    kept = [it for it in items if len(it.pairs) >= min_languages]
    report.below_min_languages = len(items) - len(kept)
    if not kept:
        raise ValueError(f"the training join is empty (languages={list(languages)}, exclude={list(exclude)})")
    return kept
