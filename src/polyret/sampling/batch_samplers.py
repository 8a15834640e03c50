"""Batch samplers over parallel items: mono (X-X), cross (X-Y), hybrid, en-en and mixed.

A batch is a list of ``PairRef(item, q_lang, p_lang)``: the query of ``item`` in ``q_lang`` with
its passage in ``p_lang``. Guarantees, for every strategy:

- a batch holds at most one pair per item id (translations are never in-batch negatives of each
  other), and with ``distinct_passages`` no two items that share a paragraph in any language;
- a batch is homogeneous in kind: ``mono`` (one language for every query and passage), ``cross``
  (q_lang != p_lang for every pair) or ``mixed`` (languages drawn without regard to each other);
- sampling uses a private ``numpy`` Generator seeded with ``seed + epoch`` (``set_epoch``), never
  the global RNG: the same seed and epoch give the same batches.

**Epoch.** An epoch is ``batches_per_epoch`` batches (default ``len(items) // batch_size``, so about
one use per item). Items come from *pools* (one per mono language, one per cross language pair or
one of all items with two or more languages), and each pool is used in *rounds*: a round is a
random permutation of the pool, every item is used exactly once per round, and a pool starts with
a fresh round every epoch.

**What "without replacement" guarantees** (per pool, at every batch boundary within an epoch):
use counts differ by at most 1, except while a round's *last* tickets wait for a later batch
because they share a paragraph with the batch being filled: then the batch takes items of the
next round, and counts differ by at most 2 until those tickets are used (they are first in line,
so usually in the next batch). A ticket skipped for a paragraph clash keeps its round and is first
in line for the next batch. Without shared paragraphs (``distinct_passages=False`` or one item per
paragraph) counts never differ by more than 1. On the real SQuAD-parallel join at batch 32 the
spread was 2 at 1 (mono) and 2 (cross) of 3000 batch boundaries (tests/training/test_samplers.py
checks the guarantee on it).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from polyret.types import ParallelItem

log = logging.getLogger(__name__)

STRATEGIES = ("mono", "cross", "hybrid", "en-en", "mixed")


class PairRef(NamedTuple):
    item: str
    q_lang: str
    p_lang: str


@dataclass(frozen=True)
class Batch:
    kind: str  # "mono" | "cross" | "mixed"
    pairs: tuple[PairRef, ...]
    source: str = ""  # training set name when several are mixed

    def to_json(self) -> dict:
        out = {"kind": self.kind, "pairs": [p._asdict() for p in self.pairs]}
        if self.source:
            out["source"] = self.source
        return out


def paragraph_groups(items: Sequence[ParallelItem]) -> np.ndarray:
    """(N,) group id per item: items sharing a passage id in any language get the same group."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        for pair in item.pairs.values():
            j = first_of.setdefault(pair.passage_id, i)
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[ri] = rj
    return np.array([find(i) for i in range(len(items))], dtype=np.int64)


class _Pool:
    """Items drawn in rounds (seeded permutations); a ticket skipped for a clash keeps its round."""

    def __init__(self, members: np.ndarray, rng: np.random.Generator):
        self.members = members
        self.rng = rng
        self.order = rng.permutation(members)
        self.pos = 0
        self.round = 0  # rounds started before the current one
        self.deferred: deque[tuple[int, int]] = deque()  # (item, round): skipped, first in line next

    def pending_from_earlier_round(self) -> bool:
        """True while a ticket of a finished permutation still waits (counts may then differ by 2)."""
        return any(r < self.round for _, r in self.deferred)

    def _next_ticket(self) -> tuple[int, int]:
        if self.deferred:
            return self.deferred.popleft()
        if self.pos >= len(self.order):
            self.order, self.pos = self.rng.permutation(self.members), 0
            self.round += 1
        self.pos += 1
        return int(self.order[self.pos - 1]), self.round

    def take(self, n: int, groups: np.ndarray, used_groups: set[int]) -> list[int]:
        out: list[int] = []
        skipped: list[tuple[int, int]] = []
        budget = 3 * len(self.members) + n
        while len(out) < n:
            budget -= 1
            if budget < 0:
                raise RuntimeError(f"cannot fill a batch of {n} distinct items from a pool of "
                                   f"{len(self.members)} items")
            idx, rnd = self._next_ticket()
            g = int(groups[idx])
            if g in used_groups:
                skipped.append((idx, rnd))
                continue
            used_groups.add(g)
            out.append(idx)
        self.deferred.extendleft(reversed(skipped))
        return out


def batch_stream(sampler) -> Iterator[Batch]:
    """Endless batches: the sampler's epochs one after another (``set_epoch`` between them)."""
    while True:
        yield from sampler
        sampler.set_epoch(sampler.epoch + 1)


class _EpochMixin:
    """``set_epoch`` + resumable position (``state_dict``/``load_state_dict``)."""

    seed: int
    epoch: int = 0
    position: int = 0  # batches yielded in the current epoch
    _skip: int = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise ValueError(f"sampler seed {self.seed} does not match the checkpoint's {state['seed']}")
        self.epoch, self._skip = int(state["epoch"]), int(state["position"])

    def _iterate(self, draw: Callable[[int], Batch], n: int) -> Iterator[Batch]:
        skip, self._skip = self._skip, 0
        self.position = 0
        for i in range(n):
            batch = draw(self.epoch * n + i)  # always drawn, so skipping replays the same RNG
            if i < skip:
                continue
            self.position = i + 1
            yield batch
        self.position = n


class ParallelBatchSampler(_EpochMixin):
    """Yields :class:`Batch` objects for one training set.

    Args:
        items: the parallel items (each with pairs in one or more languages).
        strategy: ``mono``, ``cross``, ``hybrid``, ``en-en`` or ``mixed``.
        batch_size: pairs per batch.
        languages: languages to use (default: all in the items); ``en-en`` uses ``en`` only.
        seed: base seed; epoch ``e`` draws from ``numpy.random.default_rng(seed + e)``.
        alpha: hybrid probability of a mono batch, a float or a function of the global step.
        mono_languages: ``uniform`` over languages, or ``proportional`` to the items in each.
        cross_pairs: ``item`` (each pair uniform over the ordered language pairs its item has)
            or ``batch`` (one ordered pair for the whole batch).
        cross_batch_weights: for ``cross_pairs="batch"``: ``uniform`` or ``proportional``.
        distinct_passages: keep items that share a paragraph out of the same batch.
        batches_per_epoch: default ``len(items) // batch_size``.
        source: name stamped on each batch (for multi-set training).
    """

    def __init__(self, items: Sequence[ParallelItem], strategy: str = "hybrid", batch_size: int = 32,
                 languages: Sequence[str] | None = None, seed: int = 0,
                 alpha: float | Callable[[int], float] = 0.5, mono_languages: str = "uniform",
                 cross_pairs: str = "item", cross_batch_weights: str = "uniform",
                 distinct_passages: bool = True, batches_per_epoch: int | None = None, source: str = ""):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
        if mono_languages not in ("uniform", "proportional") or cross_batch_weights not in (
                "uniform", "proportional"):
            raise ValueError("mono_languages / cross_batch_weights must be 'uniform' or 'proportional'")
        if cross_pairs not in ("item", "batch"):
            raise ValueError(f"cross_pairs must be 'item' or 'batch', not {cross_pairs!r}")
        self.strategy, self.batch_size, self.seed, self.source = strategy, batch_size, seed, source
        self.alpha = alpha if callable(alpha) else (lambda step, a=float(alpha): a)
        self.cross_pairs = cross_pairs
        if strategy == "en-en":
            languages = ["en"]
        langs = sorted(languages) if languages is not None else sorted({x for it in items for x in it.pairs})
        # per item: its languages among the chosen ones
        self.items = [it for it in items if any(x in it.pairs for x in langs)]
        self.item_langs = [tuple(x for x in langs if x in it.pairs) for it in self.items]
        self.languages = tuple(langs)
        self.groups = paragraph_groups(self.items) if distinct_passages else np.arange(len(self.items))
        self._members: dict[object, np.ndarray] = {}
        self._setup_pools(strategy, mono_languages, cross_batch_weights)
        self.batches_per_epoch = batches_per_epoch or max(1, len(self.items) // batch_size)

    # ------------------------------------------------------------------ pools
    def _feasible(self, members: list[int]) -> bool:
        return len(set(self.groups[members].tolist())) >= self.batch_size

    def _setup_pools(self, strategy: str, mono_weights: str, cross_weights: str) -> None:
        by_lang = {x: [i for i, ls in enumerate(self.item_langs) if x in ls] for x in self.languages}
        if strategy in ("mono", "hybrid", "en-en"):
            for x in self.languages:
                if not self._feasible(by_lang[x]):
                    raise ValueError(f"language {x!r} has {len(by_lang[x])} items, too few distinct "
                                     f"paragraphs for mono batches of {self.batch_size}")
                self._members[("mono", x)] = np.array(by_lang[x])
            w = np.array([1.0 if mono_weights == "uniform" else len(by_lang[x]) for x in self.languages])
            self.mono_probs = w / w.sum()
        if strategy in ("cross", "hybrid"):
            if self.cross_pairs == "item":
                multi = [i for i, ls in enumerate(self.item_langs) if len(ls) >= 2]
                if not self._feasible(multi):
                    raise ValueError(f"only {len(multi)} items have two or more of {self.languages}: "
                                     f"too few for cross batches of {self.batch_size}")
                self._members[("cross", None)] = np.array(multi)
            else:
                pairs, sizes = [], []
                for a in self.languages:
                    for b in self.languages:
                        both = [i for i in by_lang[a] if b in self.item_langs[i]] if a != b else []
                        if both and self._feasible(both):
                            pairs.append((a, b))
                            sizes.append(len(both))
                            self._members[("cross", (a, b))] = np.array(both)
                        elif a != b:
                            log.warning("language pair %s-%s: too few shared items for a batch; skipped",
                                        a, b)
                if not pairs:
                    raise ValueError(f"no language pair of {self.languages} has {self.batch_size} "
                                     "shared items")
                self.cross_pair_list = pairs
                w = np.ones(len(pairs)) if cross_weights == "uniform" else np.array(sizes, dtype=float)
                self.cross_probs = w / w.sum()
        if strategy == "mixed":
            allm = list(range(len(self.items)))
            if not self._feasible(allm):
                raise ValueError(f"{len(allm)} items: too few for batches of {self.batch_size}")
            self._members[("mixed", None)] = np.array(allm)

    def __len__(self) -> int:
        return self.batches_per_epoch

    # ------------------------------------------------------------------ drawing
    def new_epoch_state(self, rng: np.random.Generator) -> dict[object, _Pool]:
        return {key: _Pool(m, rng) for key, m in self._members.items()}

    def draw(self, rng: np.random.Generator, pools: dict[object, _Pool], step: int) -> Batch:
        """One batch; ``step`` is the global batch index (for the alpha schedule)."""
        kind = self.strategy
        if kind == "hybrid":
            kind = "mono" if rng.random() < self.alpha(step) else "cross"
        elif kind == "en-en":
            kind = "mono"
        used: set[int] = set()
        B = self.batch_size
        if kind == "mono":
            lang = self.languages[rng.choice(len(self.languages), p=self.mono_probs)]
            idx = pools[("mono", lang)].take(B, self.groups, used)
            refs = [(i, lang, lang) for i in idx]
        elif kind == "cross" and self.cross_pairs == "batch":
            a, b = self.cross_pair_list[rng.choice(len(self.cross_pair_list), p=self.cross_probs)]
            refs = [(i, a, b) for i in pools[("cross", (a, b))].take(B, self.groups, used)]
        elif kind == "cross":
            refs = []
            for i in pools[("cross", None)].take(B, self.groups, used):
                ls = self.item_langs[i]
                q = int(rng.integers(len(ls)))
                p = int(rng.integers(len(ls) - 1))
                refs.append((i, ls[q], ls[p + (p >= q)]))  # uniform over the item's ordered pairs
        else:  # mixed: query and passage languages drawn independently
            refs = []
            for i in pools[("mixed", None)].take(B, self.groups, used):
                ls = self.item_langs[i]
                refs.append((i, ls[int(rng.integers(len(ls)))], ls[int(rng.integers(len(ls)))]))
        pairs = tuple(PairRef(self.items[i].item_id, q, p) for i, q, p in refs)
        return Batch(kind=kind, pairs=pairs, source=self.source)

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng(self.seed + self.epoch)
        pools = self.new_epoch_state(rng)
        return self._iterate(lambda step: self.draw(rng, pools, step), len(self))


class MultiSourceBatchSampler(_EpochMixin):
    """Mixes several training sets; every batch comes from one set.

    The set of each batch is drawn proportional to the sets' sizes (items) or by ``weights``;
    an epoch is the sum of the sets' epochs (in batches).
    """

    def __init__(self, samplers: Sequence[ParallelBatchSampler], weights: Sequence[float] | None = None,
                 seed: int = 0):
        if not samplers:
            raise ValueError("MultiSourceBatchSampler needs at least one sampler")
        if weights and len(weights) != len(samplers):
            raise ValueError(f"{len(weights)} weights for {len(samplers)} training sets")
        self.samplers, self.seed = list(samplers), seed
        w = np.array(weights if weights else [len(s.items) for s in self.samplers], dtype=float)
        if (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"dataset weights must be >= 0 with a positive sum, not {w.tolist()}")
        self.probs = w / w.sum()

    def __len__(self) -> int:
        return sum(len(s) for s in self.samplers)

    def __iter__(self) -> Iterator[Batch]:
        rng = np.random.default_rng(self.seed + self.epoch)
        states = [s.new_epoch_state(rng) for s in self.samplers]

        def draw(step: int) -> Batch:
            k = int(rng.choice(len(self.samplers), p=self.probs))
            return self.samplers[k].draw(rng, states[k], step)

        return self._iterate(draw, len(self))
