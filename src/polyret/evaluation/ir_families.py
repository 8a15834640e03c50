"""The BEIR, MIRACL and BRIGHT families: how each loads, its documented run rules and measures.

- **BEIR** (``nDCG@10, R@100, AP@100, RR@10``): a document whose id equals the query id is removed
  from that query's ranking (BEIR's ``ignore_identical_ids``; it matters for ArguAna, whose queries
  are arguments that are also in the corpus), unless ``drop_self_hits`` is off; the run is cut at
  ``top_k``. ``beir/NAME`` is a catalog name or a BEIR-format folder (``beir/path/to/mine``; the
  folder's name is then the dataset name used for the complex-query groups).
- **MIRACL** (``nDCG@10, R@100``) as ``trec_eval -c -M 100 -m ndcg_cut.10 -m recall.100``: at most
  100 documents per query are read, in trec_eval's order (score descending, then document id
  descending); the mean is over every query of the qrels with a relevant passage, a query missing
  from the run scoring 0; unjudged retrieved passages count as non-relevant.
- **BRIGHT** (``nDCG@10, R@100``, nDCG@10 its main metric): each query's ``excluded_ids``
  (documents that trivially match, e.g. the question's own post) are removed, as BRIGHT sets their
  score to minus infinity; the run is cut at ``top_k``.

Every measure uses one tie convention (:mod:`polyret.evaluation.metrics`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyret.errors import UserError
from polyret.evaluation.config import EvalConfig
from polyret.evaluation.ir_tasks import IrTaskData, RunTask
from polyret.evaluation.metrics import (
    BEIR_MEASURES,
    BRIGHT_MEASURES,
    MIRACL_DEPTH,
    MIRACL_MEASURES,
    cut_run,
    exclude_docs,
)
from polyret.evaluation.tasks import TaskSpec, folder_arg
from polyret.retrieval.pipeline import remove_self_hits
from polyret.types import Run


class BeirTask(RunTask):
    kind = "beir"
    help = "beir/NAME_OR_FOLDER"
    measures = BEIR_MEASURES
    complex_subsets = True

    def parse(self, task: str, rest: str) -> TaskSpec:
        folder = folder_arg(task, rest)
        if folder is None and Path(rest).is_dir() and (Path(rest) / "corpus.jsonl").is_file():
            folder = Path(rest)
        return TaskSpec(self.kind, rest if folder is None else folder.name, folder)

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        from polyret.data.beir import load_beir

        folder = spec.folder
        if folder is None:
            from polyret.data.catalog import dataset_path

            folder = dataset_path(f"beir/{spec.name}", config.data_dir)
        data = load_beir(folder, split=config.split)
        files = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{config.split}.tsv"]
        return IrTaskData(spec.name, data.corpus, data.queries, data.qrels, [f for f in files if f.exists()],
                          info={"skipped_qrels": data.skipped_qrels, "split": config.split})

    def depth(self, data: IrTaskData, config: EvalConfig) -> int:
        return config.top_k + (1 if config.drop_self_hits else 0)

    def apply_rules(self, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
        report: dict[str, Any] = {}
        if config.drop_self_hits:
            run, report["self_hits_removed"] = remove_self_hits(run, config.top_k)  # as `polyret search`
        report["depth"] = config.top_k
        return cut_run(run, config.top_k), report


class MiraclTask(RunTask):
    kind = "miracl"
    help = "miracl/LANG"
    measures = MIRACL_MEASURES

    def parse(self, task: str, rest: str) -> TaskSpec:
        return TaskSpec(self.kind, rest, language=rest)

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        from polyret.data.miracl import load_miracl

        if config.corpus is None:
            raise UserError(f"miracl/{spec.name} needs --corpus: MIRACL's passages are not bundled")
        split = "dev" if config.split == "test" else config.split
        data = load_miracl(spec.name, split=split, data_dir=config.data_dir, corpus=config.corpus)
        files = [Path(p) for p in getattr(data, "files", [])] + [Path(config.corpus)]
        return IrTaskData(f"miracl/{spec.name}", data.corpus, data.queries, data.qrels, files,
                          info={"split": split})

    def apply_rules(self, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
        return cut_run(run, MIRACL_DEPTH), {"depth": MIRACL_DEPTH}


class BrightTask(RunTask):
    kind = "bright"
    help = "bright/NAME"
    measures = BRIGHT_MEASURES
    complex_subsets = True

    def load(self, spec: TaskSpec, config: EvalConfig) -> IrTaskData:
        from polyret.data.bright import load_bright

        if config.corpus is None:
            raise UserError(f"bright/{spec.name} needs --corpus DOCS_DIR: BRIGHT's documents are not bundled")
        data = load_bright(spec.name, config.data_dir, config.corpus)
        return IrTaskData(f"bright/{spec.name}", data.corpus, data.queries, data.qrels,
                          [Path(p) for p in getattr(data, "files", [])],
                          excluded={q: list(v) for q, v in getattr(data, "excluded", {}).items()})

    def depth(self, data: IrTaskData, config: EvalConfig) -> int:
        return config.top_k + max((len(v) for v in data.excluded.values()), default=0)

    def apply_rules(self, run: Run, data: IrTaskData, config: EvalConfig) -> tuple[Run, dict[str, Any]]:
        report: dict[str, Any] = {}
        if data.excluded:
            run, removed = exclude_docs(run, data.excluded)
            report["excluded_removed"] = sum(removed.values())
        report["depth"] = config.top_k
        return cut_run(run, config.top_k), report
