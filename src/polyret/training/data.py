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

from polyret.config import DataConfig
from polyret.data.errors import DataFormatError
from polyret.data.io import iter_jsonl
from polyret.sampling.batch_samplers import Batch, paragraph_groups
from polyret.types import ParallelItem, QAPair

REQUIRED = ("item_id", "lang", "question", "passage", "passage_id")


def write_parallel_jsonl(items: Iterable[ParallelItem], path: str | Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
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
    pairs = []
    for n, row in iter_jsonl(path):
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            raise DataFormatError(path, n, f"missing field(s) {missing}; a row needs {list(REQUIRED)}")
        if languages is None or row["lang"] in languages:
            pairs.append(QAPair(**{k: str(row.get(k, "")) for k in QAPair._fields}))
    return group_pairs(pairs)


def load_training_sets(cfg: DataConfig) -> dict[str, list[ParallelItem]]:
    """name -> items, for every entry of ``data.train_data`` (catalog name or .jsonl file)."""
    sets: dict[str, list[ParallelItem]] = {}
    for name in cfg.train_data:
        if name.endswith(".jsonl") or Path(name).is_file():
            if not Path(name).is_file():
                raise FileNotFoundError(f"training file {name} not found")
            items = read_parallel_jsonl(name, cfg.languages)
        else:
            from polyret.data.parallel import load_training_items

            items = load_training_items(name=name, data_dir=cfg.data_dir, languages=tuple(cfg.languages),
                                        exclude=tuple(cfg.exclude))
        if not items:
            raise ValueError(f"training set {name!r} has no items in languages {cfg.languages}")
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


class BatchCollator:
    """Turns a :class:`Batch` of PairRefs into texts."""

    def __init__(self, items: Iterable[ParallelItem],
                 negatives: dict[tuple[str, str], list[str]] | None = None, num_hard_negatives: int = 0):
        self.items = {it.item_id: it for it in items}
        self.negatives = negatives or {}
        self.h = num_hard_negatives

    def __call__(self, batch: Batch) -> BatchTexts:
        queries, passages, negs = [], [], []
        for ref in batch.pairs:
            item = self.items[ref.item]
            queries.append(item.pairs[ref.q_lang].question)
            passages.append(item.pairs[ref.p_lang].passage)
            if self.h:
                pool = self.negatives.get((ref.item, ref.p_lang))
                if not pool:
                    raise KeyError(f"no hard negatives for item {ref.item!r} in {ref.p_lang!r}")
                negs.extend(pool[i % len(pool)] for i in range(self.h))  # cycle when fewer were mined
        return BatchTexts(queries, passages, negs)


def shard(batch: Batch, rank: int, world: int) -> Batch:
    """This process's contiguous slice of a global batch."""
    if world == 1:
        return batch
    n = len(batch.pairs)
    if n % world:
        raise ValueError(f"batch size {n} is not divisible by {world} processes")
    k = n // world
    return Batch(batch.kind, batch.pairs[rank * k:(rank + 1) * k], batch.source)
