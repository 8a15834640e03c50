"""The task families, found by name: ``parse_task("birco/wtb")`` is a lookup in :data:`FAMILIES`.

A task name is ``<kind>/<rest>`` (``beir/scifact``, ``birco/wtb``, ``lareqa/path/to/pool``) or a bare
name a family owns (``xquad-r``). An unknown name is refused with the registered forms and, where one
is close, a "did you mean". Adding a family is one module (a :class:`~polyret.evaluation.tasks.TaskFamily`)
and one line below; see ``docs/extending.md``.
"""

from __future__ import annotations

import difflib

from polyret.evaluation.birco_task import BircoTask
from polyret.evaluation.ir_families import BeirTask, BrightTask, MiraclTask
from polyret.evaluation.lareqa_task import LareqaTask
from polyret.evaluation.tasks import TaskFamily, TaskSpec, UnknownTask

FAMILIES: dict[str, TaskFamily] = {}


def register(family: TaskFamily) -> TaskFamily:
    """Add ``family`` under its ``kind`` (a second family of the same kind is an error)."""
    if family.kind in FAMILIES:
        raise ValueError(f"task family {family.kind!r} is already registered")
    FAMILIES[family.kind] = family
    return family


def unregister(kind: str) -> None:
    """Remove the family ``kind`` (tests that register a toy family)."""
    FAMILIES.pop(kind, None)


for _family in (LareqaTask(), BeirTask(), MiraclTask(), BrightTask(), BircoTask()):
    register(_family)


def task_help() -> str:
    """Every accepted task form, for ``--help`` and errors."""
    return " | ".join(f.help for f in FAMILIES.values())


def _unknown(task: str) -> UnknownTask:
    kind, sep, rest = task.partition("/")
    if sep and rest:  # a misspelt family: suggest it with the same rest
        close = [f"{k}/{rest}" for k in difflib.get_close_matches(kind, list(FAMILIES), n=1, cutoff=0.6)]
    else:
        names = [n for f in FAMILIES.values() for n in f.names] + [f"{k}/" for k in FAMILIES]
        close = difflib.get_close_matches(task, names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownTask(f"unknown task {task!r}{hint} Registered: {task_help()}")


def family_of(kind: str) -> TaskFamily:
    """The registered family ``kind``."""
    if kind not in FAMILIES:
        raise _unknown(kind)
    return FAMILIES[kind]


def parse_task(task: str) -> TaskSpec:
    """Look ``task`` up; an unknown name lists the registered forms (and the closest one)."""
    task = task.strip()
    for family in FAMILIES.values():
        if task in family.names:
            return family.parse(task, task)
    kind, sep, rest = task.partition("/")
    if not sep or not rest or kind not in FAMILIES:
        raise _unknown(task)
    return FAMILIES[kind].parse(task, rest)


def find_task(task: str) -> tuple[TaskFamily, TaskSpec]:
    """The family owning ``task`` and the parsed name."""
    spec = parse_task(task)
    return FAMILIES[spec.kind], spec
