"""Evaluation task names: ``xquad-r``, ``mlqa-r``, ``lareqa/FOLDER``, ``beir/NAME``, ``miracl/LANG``,
``bright/NAME``.

``lareqa/FOLDER`` is any folder of LAReQA-format ``<lang>.json`` files (e.g. a user's own pool).

``beir/NAME`` takes a catalog name (``beir/scifact``) or a folder in BEIR format
(``beir/path/to/my-collection``); the folder's name is then the dataset name used for the
complex-query groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LAREQA_TASKS = ("xquad-r", "mlqa-r")
KINDS = ("lareqa", "beir", "miracl", "bright")
TASK_HELP = "xquad-r | mlqa-r | lareqa/FOLDER | beir/NAME_OR_FOLDER | miracl/LANG | bright/NAME"


@dataclass(frozen=True)
class TaskSpec:
    """A parsed task name."""

    kind: str  # one of KINDS
    name: str  # the dataset ("xquad-r", "scifact", "sw", "biology")
    folder: Path | None = None  # an explicit BEIR folder instead of a catalog name

    @property
    def task(self) -> str:
        if self.kind == "lareqa":
            return self.name if self.folder is None else f"lareqa/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def bm25_language(self) -> str:
        return self.name if self.kind == "miracl" else "en"


def parse_task(task: str) -> TaskSpec:
    """Parse a task name; errors list the accepted forms."""
    task = task.strip()
    if task in LAREQA_TASKS:
        return TaskSpec("lareqa", task)
    kind, sep, rest = task.partition("/")
    if not sep or not rest or kind not in KINDS:
        raise ValueError(f"unknown task {task!r}; expected {TASK_HELP}")
    if kind == "lareqa":
        path = Path(rest).expanduser()
        if not path.is_dir():
            raise ValueError(f"task {task!r}: folder {path} does not exist")
        return TaskSpec("lareqa", path.name, path)
    if kind == "beir":
        path = Path(rest).expanduser()
        if ("/" in rest or rest.startswith(".")) or (path.is_dir() and (path / "corpus.jsonl").is_file()):
            if not path.is_dir():
                raise ValueError(f"task {task!r}: folder {path} does not exist")
            return TaskSpec("beir", path.name, path)
    return TaskSpec(kind, rest)
