"""The package structure (issue 9): imports point down only, no cycles, small modules and functions.

The checker is ``scripts/check_imports.py`` (stdlib only); run it by hand to see the whole graph.
Its own rules are tested here on small synthetic packages, so a broken checker cannot pass silently.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_imports.py"


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_imports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_imports"] = module
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


@pytest.fixture(scope="module")
def findings():
    return checker.check()


def test_no_upward_imports(findings):
    assert findings.upward == [], "\n".join(findings.upward)


def test_no_import_cycles(findings):
    assert findings.cycles == [], findings.cycles


def test_no_module_over_the_limit(findings):
    assert findings.long_modules == [], "\n".join(findings.long_modules)


def test_no_function_over_the_limit(findings):
    assert findings.long_functions == [], "\n".join(findings.long_functions)


def test_known_exceptions_are_still_needed(findings):
    """A known exception that no longer occurs must be removed from the list (it would hide a regression)."""
    texts = "\n".join(findings.known)
    for src, dst in checker.KNOWN_EDGES:
        assert f"({src}) imports" in texts and f"({dst})" in texts, f"stale known edge {src} -> {dst}"
    for name in checker.KNOWN_LONG_MODULES | checker.KNOWN_LONG_FUNCTIONS:
        assert name in texts, f"stale known exception {name}"


def test_script_runs_and_prints_the_graph():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert "package import graph" in proc.stdout and "cli -> " in proc.stdout
    assert proc.returncode == (1 if checker.check().failures() else 0)


# ------------------------------------------------------------ the checker on synthetic packages


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "src" / "polyret"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return root


def test_checker_finds_module_level_and_function_local_upward_imports(tmp_path):
    root = _package(tmp_path, {
        "data/__init__.py": "",
        "data/a.py": "from polyret.training import loop\n",
        "data/b.py": "def f():\n    from polyret.evaluation.x import y\n    return y\n",
        "training/__init__.py": "",
        "training/loop.py": "from polyret.data import a\n",
        "evaluation/__init__.py": "",
        "evaluation/x.py": "y = 1\n",
    })
    found = checker.check(root)
    assert any("polyret.data.a (data) imports polyret.training.loop" in u for u in found.upward)
    assert any("src/polyret/data/b.py:2" in u and "(evaluation)" in u for u in found.upward)
    assert not any("polyret.training.loop (training) imports" in u for u in found.upward)  # downward: fine
    assert found.cycles == [["polyret.data.a", "polyret.training.loop"]]


def test_checker_rules_for_testing_type_checking_and_relative_imports(tmp_path):
    root = _package(tmp_path, {
        "testing/__init__.py": "from polyret.cli import main\n",  # testing may import anything
        "cli/__init__.py": "def main():\n    return 0\n",
        "modeling/__init__.py": "",
        "modeling/enc.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                           "    from polyret.retrieval import cache\nfrom . import pool\n",
        "modeling/pool.py": "",
        "retrieval/__init__.py": "",
        "retrieval/cache.py": "",
        "training/__init__.py": "",
        "training/t.py": "from polyret.testing import tiny\n",
    })
    found = checker.check(root)
    assert len(found.upward) == 1 and "nothing in src may import polyret.testing" in found.upward[0]
    assert found.cycles == []
    assert ("modeling", "retrieval") not in found.edges  # TYPE_CHECKING imports never run


def test_checker_finds_long_modules_and_functions(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(checker.MAX_FUNCTION_LINES))
    root = _package(tmp_path, {
        "types.py": f"def long():\n{body}\n" + "\n" * checker.MAX_MODULE_LINES,
        "paths.py": "def short():\n    return 1\n",
    })
    found = checker.check(root)
    assert found.long_functions == [f"src/polyret/types.py::long: {checker.MAX_FUNCTION_LINES + 1} lines "
                                    f"(limit {checker.MAX_FUNCTION_LINES})"]
    assert len(found.long_modules) == 1 and found.long_modules[0].startswith("src/polyret/types.py")
