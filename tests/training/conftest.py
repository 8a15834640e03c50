"""Synthetic parallel items that tests can tell apart (languages are word prefixes)."""

from __future__ import annotations

import numpy as np
import pytest

from polyret.types import ParallelItem, QAPair

LANGS = ("en", "es", "da", "it")
TOPICS = ("river city bridge king war music tree sky house ship gold stone fire wind snow bird horse "
          "book song road lake hill moon star sun door wall").split()


def make_items(n: int = 240, languages=LANGS, seed: int = 0, per_paragraph: int = 2,
               full_share: float = 0.5) -> list[ParallelItem]:
    """``n`` items; every ``per_paragraph`` consecutive items share one paragraph.

    Each item has English plus (with probability ``full_share``) all other languages, else one
    or two of them. Texts are distinct per item: topic words identify the item, language prefixes
    identify the language.
    """
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        para = i // per_paragraph
        others = [x for x in languages if x != "en"]
        if rng.random() < full_share:
            langs = list(languages)
        else:
            langs = ["en", *rng.choice(others, size=int(rng.integers(1, 3)), replace=False).tolist()]
        w1, w2 = TOPICS[i % len(TOPICS)], TOPICS[(i // len(TOPICS)) % len(TOPICS)]
        pw1, pw2 = TOPICS[para % len(TOPICS)], TOPICS[(para * 7) % len(TOPICS)]
        pairs = {
            x: QAPair(item_id=f"q{i}", lang=x, question=f"{x} what {w1} {w2} number{i}",
                      passage=f"{x} {pw1} {pw2} passage{para} about {w1} {w2} number{i}",
                      passage_id=f"{x}:doc:{para}", title="doc")
            for x in langs
        }
        items.append(ParallelItem(item_id=f"q{i}", pairs=pairs))
    return items


@pytest.fixture
def items() -> list[ParallelItem]:
    return make_items()
