"""The BIRCO family (Wang et al. 2024): ``birco/arguana``, ``birco/clinical-trial``, ``birco/relic``,
``birco/wtb``, or ``birco/path/to/folder`` (a user's own pooled collection in the same layout).

- **Pools.** Every query ranks only its own candidate pool (the documents its qrels judge, relevance 0
  included): the retriever ranks the corpus and every document outside the query's pool is removed
  (:func:`restrict_to_pools`), which leaves the pool ranked as if it had been ranked alone; a pool
  document the retriever did not return (BM25 scores only documents sharing a term) ranks last.
- **Measures:** ``nDCG@10`` (trec_eval's ``ndcg_cut.10``: linear gain, so Clinical-Trial's grade 2
  counts twice grade 1; BIRCO's own scorer), ``AP`` (MAP over the whole pool), ``RR@10`` (MRR@10),
  ``R@5``, ``R@10``. The whole pool is kept and scored (pools hold up to 153 documents).
- **Lengths.** Queries and passages are long: 512 tokens on both sides unless the evaluation sets
  other lengths. polyret's complex-query subsets do not apply (the whole benchmark is the complex set).
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

from polyret.evaluation.config import EvalConfig
from polyret.evaluation.ir_tasks import IrTaskData, RunTask
from polyret.evaluation.tasks import TaskSpec, UnknownTask, folder_arg
from polyret.types import Run

BIRCO_MEASURES = ("nDCG@10", "AP", "RR@10", "R@5", "R@10")
BIRCO_LENGTH = 512  # tokens, queries and passages, unless the evaluation sets its own


def restrict_to_pools(run: Run, pools: dict[str, list[str]]) -> tuple[Run, dict[str, int]]:
    """A copy of ``run`` ranking, per query, exactly its pool: documents outside it removed, pool
    documents the run lacks (BM25 returns no document without a query term) appended last, tied below
    every ranked one. Returns the run and the counts removed / appended."""
    out: Run = {}
    removed = appended = 0
    for q, pool in pools.items():
        docs = run.get(q, {})
        inside = {d: s for d, s in docs.items() if d in set(pool)}
        removed += len(docs) - len(inside)
        floor = min(inside.values(), default=0.0) - 1.0
        missing = [d for d in pool if d not in inside]
        appended += len(missing)
        out[q] = inside | dict.fromkeys(missing, floor)
    removed += sum(len(docs) for q, docs in run.items() if q not in pools)
    return out, {"outside_pool_removed": removed, "pool_appended": appended}


class BircoTask(RunTask):
    kind = "birco"
    help = "birco/{arguana,clinical-trial,relic,wtb} | birco/FOLDER"
    measures = BIRCO_MEASURES

    def parse(self, task: str, rest: str) -> TaskSpec:
        from polyret.data.birco import BIRCO_TASKS

        folder = folder_arg(task, rest)
        if folder is None and rest not in BIRCO_TASKS:
            close = difflib.get_close_matches(rest, BIRCO_TASKS, n=1)
            hint = f"; did you mean 'birco/{close[0]}'?" if close else ""
            raise UnknownTask(f"unknown BIRCO task {task!r}{hint} Expected {self.help}")
        return TaskSpec(self.kind, rest if folder is None else folder.name, folder)

    def prepare(self, config: EvalConfig) -> EvalConfig:
        return replace(config, max_query_length=config.max_query_length or BIRCO_LENGTH,
                       max_passage_length=config.max_passage_length or BIRCO_LENGTH)

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        from polyret.data.birco import birco_folder, load_birco

        data = load_birco(spec.folder or birco_folder(spec.name, config.data_dir), split=config.split)
        return IrTaskData(f"birco/{spec.name}", data.corpus, data.queries, data.qrels, data.files,
                          info={"skipped_qrels": data.skipped_qrels, "split": config.split,
                                "pool_size_range": [min(map(len, data.pools.values())),
                                                    max(map(len, data.pools.values()))]},
                          pools=data.pools)

    def depth(self, data: IrTaskData, config: EvalConfig) -> int:
        return len(data.corpus)  # the whole corpus is ranked; each query's pool is what remains

    def kept_depth(self, data: IrTaskData) -> int:
        return max((len(p) for p in (data.pools or {}).values()), default=0)

    def apply_rules(self, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
        kept, counts = restrict_to_pools(run, data.pools or {})
        return kept, {**counts, "depth": "pool"}
