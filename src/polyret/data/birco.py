"""BIRCO (Wang et al. 2024, *A Benchmark of Information Retrieval Tasks with Complex Objectives*).

Each task is a BEIR-format folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) under
``<data root>/birco/<task>``, or a user's own folder in the same layout. Every query is judged
against **its own candidate pool**: the pool is exactly the documents its qrels name (relevance 0
included: judged non-relevant), and BIRCO's protocol ranks that pool only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from polyret.data.beir import load_beir
from polyret.types import Corpus, Qrels, Queries

BIRCO_TASKS = ("arguana", "clinical-trial", "relic", "wtb")


@dataclass
class BircoData:
    """One BIRCO task: the shared corpus, the queries, graded qrels and each query's pool."""

    name: str
    corpus: Corpus
    queries: Queries
    qrels: Qrels
    pools: dict[str, list[str]]  # query id -> its candidate documents (sorted)
    files: list[Path] = field(default_factory=list)
    skipped_qrels: int = 0


def birco_folder(name: str, data_dir: str | Path | None = None) -> Path:
    """``<data root>/birco/<name>`` (the catalog's data-root search); an error lists the tasks."""
    from polyret.data.catalog import data_roots

    for root in data_roots(data_dir):
        folder = root / "birco" / name
        if (folder / "corpus.jsonl").is_file() or (folder / "corpus.jsonl.gz").is_file():
            return folder
    searched = ", ".join(str(r / "birco" / name) for r in data_roots(data_dir))
    raise FileNotFoundError(f"BIRCO task {name!r} not found (searched {searched}); "
                            f"the BIRCO tasks are {', '.join(BIRCO_TASKS)}")


def pools_of(qrels: Qrels) -> dict[str, list[str]]:
    """Each query's pool: every document its qrels judge (relevance 0 included), sorted."""
    return {q: sorted(docs) for q, docs in qrels.items()}


def load_birco(folder: str | Path, split: str = "test") -> BircoData:
    """Load a BIRCO task folder (BEIR layout); the pools come from the qrels."""
    data = load_beir(folder, split=split)
    return BircoData(Path(folder).name, data.corpus, data.queries, data.qrels, pools_of(data.qrels),
                     list(data.files), data.skipped_qrels)
