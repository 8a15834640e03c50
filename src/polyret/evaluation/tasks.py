"""What a task family is: :class:`TaskSpec` (a parsed task name) and :class:`TaskFamily` (the base
every family implements). The families themselves are registered by name in
:mod:`polyret.evaluation.registry` (``parse_task`` is a lookup there).

A family owns how its tasks are named and loaded, which run rules apply, which measures it reports
and how it evaluates. Run-based families (BEIR, MIRACL, BRIGHT, BIRCO) derive from
:class:`polyret.evaluation.ir_tasks.RunTask`, which supplies the evaluation and leaves loading,
rules and measures to them; LAReQA is its own (:mod:`polyret.evaluation.lareqa_task`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from polyret.errors import UserError

if TYPE_CHECKING:
    from polyret.evaluation.config import EvalConfig
    from polyret.evaluation.results import EvalResult
    from polyret.retrieval.retriever import Retriever


@dataclass(frozen=True)
class TaskSpec:
    """A parsed task name."""

    kind: str  # the family's registered name ("lareqa", "beir", "birco", ...)
    name: str  # the dataset ("xquad-r", "scifact", "sw", "biology", "wtb")
    folder: Path | None = None  # an explicit folder instead of a catalog name
    language: str = "en"  # the queries' language (BM25's tokenizer)

    @property
    def task(self) -> str:
        if self.kind == "lareqa":
            return self.name if self.folder is None else f"lareqa/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def bm25_language(self) -> str:
        return self.language


class UnknownTask(UserError, ValueError):
    """A task name no registered family owns (the message lists the accepted forms)."""


def folder_arg(task: str, rest: str) -> Path | None:
    """``rest`` as a folder when it is a path (contains ``/`` or starts with ``.``), else ``None``;
    a path that is not a folder is an error naming it."""
    if "/" not in rest and not rest.startswith("."):
        return None
    path = Path(rest).expanduser()
    if not path.is_dir():
        raise ValueError(f"task {task!r}: folder {path} does not exist")
    return path


class TaskFamily:
    """One family of tasks (see the module docstring); subclasses set ``kind`` and ``help``."""

    kind: ClassVar[str]  # the prefix of its task names: "<kind>/<name>"
    help: ClassVar[str]  # the accepted forms, for error messages and --help
    names: ClassVar[tuple[str, ...]] = ()  # bare task names it also owns ("xquad-r")
    accepts_bm25: ClassVar[bool] = True  # whether BM25 is a baseline of this family

    def parse(self, task: str, rest: str) -> TaskSpec:
        """``task`` (``"<kind>/<rest>"`` or one of ``names``) as a :class:`TaskSpec`."""
        return TaskSpec(self.kind, rest)

    def evaluate(self, retriever: Retriever, spec: TaskSpec, config: EvalConfig,
                 model_name: str | None = None) -> EvalResult:
        """Evaluate ``retriever`` on the task ``spec``."""
        raise NotImplementedError
