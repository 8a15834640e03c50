"""Training data for the trainer: load sets, split by item, fingerprint, turn batches into texts.

Parallel ``.jsonl`` format (what :func:`write_parallel_jsonl` writes and the translation builder
produces): one :class:`~polyret.types.QAPair` per line, ``{"item_id", "lang", "question", "passage",
"passage_id", "title", "answer"}``; rows with the same ``item_id`` are translations of one item.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyret.atomic import atomic_write
from polyret.config import DataConfig
from polyret.data.errors import DataFormatError
from polyret.data.io import iter_jsonl, optional_str, require_id, require_str
from polyret.errors import ConfigError
from polyret.sampling.batch_samplers import Batch, paragraph_groups
from polyret.types import ParallelItem, QAPair

REQUIRED = ("item_id", "lang", "question", "passage", "passage_id")


def write_parallel_jsonl(items: Iterable[ParallelItem], path: str | Path) -> None:
    with atomic_write(path, "w") as f:
        for item in items:
            for lang in item.languages:
                f.write(json.dumps(item.pairs[lang]._asdict(), ensure_ascii=False) + "\n")


def group_pairs(pairs: Iterable[QAPair]) -> list[ParallelItem]:
    """QAPairs -> ParallelItems (one per item id, in first-seen order)."""
    by_id: dict[str, dict[str, QAPair]] = defaultdict(dict)
    for pair in pairs:
        by_id[pair.item_id][pair.lang] = pair
    return [ParallelItem(item_id=k, pairs=v) for k, v in by_id.items()]


def read_parallel_jsonl(path: str | Path, languages: Sequence[str] | None = None) -> list[ParallelItem]:
    """QAPair rows (one per line) -> ParallelItems. Ids and texts are checked, never coerced; a repeated
    (item_id, lang) is an error naming both lines."""
    path = Path(path)
    pairs, seen = [], {}
    for n, row in iter_jsonl(path):
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise DataFormatError(path, n, f"missing field(s) {missing}; a row needs {list(REQUIRED)}")
        item_id, lang = require_id(row, "item_id", path, n), require_id(row, "lang", path, n)
        if (item_id, lang) in seen:
            first = seen[item_id, lang]
            raise DataFormatError(path, n, f"item {item_id!r} in {lang!r} again (first on line {first})")
        seen[item_id, lang] = n
        pair = QAPair(item_id=item_id, lang=lang, question=require_str(row, "question", path, n),
                      passage=require_str(row, "passage", path, n),
                      passage_id=require_id(row, "passage_id", path, n),
                      title=optional_str(row, "title", path, n), answer=optional_str(row, "answer", path, n))
        if languages is None or lang in languages:
            pairs.append(pair)
    return group_pairs(pairs)


def load_training_sets(cfg: DataConfig) -> dict[str, list[ParallelItem]]:
    """name -> items, for every entry of ``data.train_data`` (catalog name or .jsonl file)."""
    sets: dict[str, list[ParallelItem]] = {}
    for name in cfg.train_data:
        if name.endswith(".jsonl") or Path(name).is_file():
            if not Path(name).is_file():
                raise ConfigError(f"data.train_data: training file {name} not found")
            items = read_parallel_jsonl(name, cfg.languages)
        else:
            from polyret.data.parallel import load_training_items

            items = load_training_items(name=name, data_dir=cfg.data_dir, languages=tuple(cfg.languages),
                                        exclude=tuple(cfg.exclude))
        if not items:
            raise ConfigError(f"data.train_data: training set {name!r} has no items in data.languages "
                              f"{cfg.languages}")
        sets[Path(name).stem if name.endswith(".jsonl") else name] = items
    return sets


def subsample(items: Sequence[ParallelItem], n: int | None, seed: int) -> list[ParallelItem]:
    if n is None or n >= len(items):
        return list(items)
    keep = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in keep]


def split_items(items: Sequence[ParallelItem], val_fraction: float, seed: int,
                ) -> tuple[list[ParallelItem], list[ParallelItem]]:
    """Hold out whole paragraph groups (so neither an item nor its paragraph leaks into training)."""
    if val_fraction <= 0:
        return list(items), []
    groups = paragraph_groups(items)
    uniq = np.unique(groups)
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(val_fraction * len(uniq))))
    val_groups = set(rng.choice(uniq, size=n_val, replace=False).tolist())
    train = [it for it, g in zip(items, groups, strict=True) if int(g) not in val_groups]
    val = [it for it, g in zip(items, groups, strict=True) if int(g) in val_groups]
    return train, val


def fingerprint(train_sets: Mapping[str, Sequence[ParallelItem]], val: Sequence[ParallelItem]) -> dict:
    """sha256 over the item ids and texts used for training and validation, plus counts."""
    h = hashlib.sha256()
    langs: Counter[str] = Counter()
    for part, items in [*((f"train:{k}", v) for k, v in train_sets.items()), ("val", val)]:
        h.update(part.encode())
        for item in items:
            for lang in item.languages:
                pair = item.pairs[lang]
                langs[f"{part}:{lang}"] += 1
                h.update("\x1f".join((pair.item_id, lang, pair.question, pair.passage_id,
                                      pair.passage)).encode("utf-8"))
                h.update(b"\x1e")
    return {"sha256": h.hexdigest(), "train_items": {k: len(v) for k, v in train_sets.items()},
            "val_items": len(val), "pairs_per_language": dict(sorted(langs.items()))}


def read_hard_negatives(path: str | Path) -> dict[tuple[str, str], list[str]]:
    """Mined file -> {(item_id, lang): [negative passage texts]}."""
    out: dict[tuple[str, str], list[str]] = {}
    for n, row in iter_jsonl(path):
        try:
            out[(str(row["item"]), str(row["lang"]))] = [str(t) for t in row["negatives"]]
        except (KeyError, TypeError) as exc:
            raise DataFormatError(path, n, f"expected {{'item', 'lang', 'negatives': [...]}}: {exc}") from exc
    return out


@dataclass
class BatchTexts:
    queries: list[str]
    passages: list[str]
    negatives: list[str]  # num_hard_negatives per pair, pair-major (empty without hard negatives)
    fallback_negatives: int = 0  # pairs whose negatives came from the fallback (no mined ones)


class BatchCollator:
    """Turns a :class:`Batch` of PairRefs into texts (plus ``num_hard_negatives`` negatives per pair).

    Hard-negative fallback: a pair whose (item, passage language) has no mined negatives (mining
    finds none for some items) gets ``num_hard_negatives`` passages of *other* paragraphs in the
    same language from ``pool`` (default: ``items``), drawn with a generator seeded by
    ``(seed, item, language)``: the same negatives every time the pair is drawn, independent of
    order (so a resumed run sees what an uninterrupted one saw). ``BatchTexts.fallback_negatives``
    counts such pairs; the trainer logs it.
    """

    def __init__(self, items: Iterable[ParallelItem],
                 negatives: dict[tuple[str, str], list[str]] | None = None, num_hard_negatives: int = 0,
                 pool: Iterable[ParallelItem] | None = None, seed: int = 0):
        self.items = {it.item_id: it for it in items}
        self.negatives = negatives or {}
        self.h = num_hard_negatives
        self.seed = seed
        self._pool: dict[str, list[tuple[str, str]]] | None = None
        self._pool_items = pool

    def __call__(self, batch: Batch) -> BatchTexts:
        queries, passages, negs, fallback = [], [], [], 0
        for ref in batch.pairs:
            item = self.items[ref.item]
            queries.append(item.pairs[ref.q_lang].question)
            passages.append(item.pairs[ref.p_lang].passage)
            if self.h:
                pool = self.negatives.get((ref.item, ref.p_lang))
                if not pool:
                    pool, fallback = self.fallback(item, ref.p_lang), fallback + 1
                negs.extend(pool[i % len(pool)] for i in range(self.h))  # cycle when fewer were mined
        return BatchTexts(queries, passages, negs, fallback)

    def fallback(self, item: ParallelItem, lang: str) -> list[str]:
        """``h`` seeded passages in ``lang`` from paragraphs other than ``item``'s."""
        if self._pool is None:
            self._pool = passages_by_language(self._pool_items if self._pool_items is not None
                                              else self.items.values())
        own = {p.passage_id for p in item.pairs.values()} | {p.passage for p in item.pairs.values()}
        candidates = [text for pid, text in self._pool.get(lang, []) if pid not in own and text not in own]
        if not candidates:
            raise ValueError(f"no passage in {lang!r} to use as a negative for item {item.item_id!r}")
        key = int.from_bytes(hashlib.sha256(f"{item.item_id}\x1f{lang}".encode()).digest()[:8], "little")
        rng = np.random.default_rng([self.seed, key])
        pick = rng.choice(len(candidates), size=min(self.h, len(candidates)), replace=False)
        return [candidates[i] for i in pick]


def passages_by_language(items: Iterable[ParallelItem]) -> dict[str, list[tuple[str, str]]]:
    """lang -> distinct ``(passage_id, passage)`` in first-seen order."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for item in items:
        for lang, pair in item.pairs.items():
            out[lang].setdefault(pair.passage_id, pair.passage)
    return {lang: list(d.items()) for lang, d in out.items()}


def shard(batch: Batch, rank: int, world: int) -> Batch:
    """This process's contiguous slice of a global batch."""
    if world == 1:
        return batch
    n = len(batch.pairs)
    if n % world:
        raise ValueError(f"batch size {n} is not divisible by {world} processes")
    k = n // world
    return Batch(batch.kind, batch.pairs[rank * k:(rank + 1) * k], batch.source)
