"""Check polyret's structure: imports point down only, no cycles, small modules and functions.

Usage::

    python scripts/check_imports.py            # print the package graph and every finding; exit 1 on any
    python scripts/check_imports.py --json     # the same as JSON

Layers, low to high (a module may import its own layer and lower ones)::

    types, paths, atomic, errors, schemas, hardware, config < data < modeling < retrieval < sampling < losses
    < training < evaluation < experiment < report < runner < cli

``testing`` may import anything, but nothing in ``src/polyret`` may import it; ``polyret/__init__``
and ``__main__`` sit on top. Module-level and function-local imports both count (``TYPE_CHECKING``
blocks do not: they never run). Cycles are searched among the modules (a function-local import that
hides a cycle is still one). Size limits: no module over ``MAX_MODULE_LINES`` lines, no function
over ``MAX_FUNCTION_LINES``; the ``KNOWN_*`` sets list exceptions being worked on (printed, not failed).
Only the standard library is used (``ast``).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "polyret"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("types", "paths", "atomic", "errors", "schemas", "hardware", "progress", "stats"),
    ("config",),
    ("data",),
    ("modeling",),
    ("retrieval",),
    ("sampling",),
    ("losses",),
    ("training",),
    ("evaluation",),
    ("experiment",),
    ("report",),
    ("runner",),
    ("cli",),
    ("__init__", "__main__"),
)
TESTING = "testing"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Known exceptions other work is fixing: printed as "known", not failed. Keep these short.
KNOWN_EDGES: set[tuple[str, str]] = set()
KNOWN_LONG_MODULES: set[str] = set()
KNOWN_LONG_FUNCTIONS: set[str] = set()


@dataclass
class Findings:
    edges: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (pkg, pkg) -> "file:line"
    upward: list[str] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    long_modules: list[str] = field(default_factory=list)
    long_functions: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)

    def failures(self) -> int:
        return len(self.upward) + len(self.cycles) + len(self.long_modules) + len(self.long_functions)


def layer_of(unit: str) -> int:
    """The layer index of a top-level unit of polyret (``config``, ``data`` ...); unknown ones: -1."""
    for index, names in enumerate(LAYERS):
        if unit in names:
            return index
    return -1


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``src/polyret/data/beir.py`` -> ``polyret.data.beir`` (``__init__`` names its package)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def unit_of(module: str) -> str:
    """The top-level unit (``polyret.data.beir`` -> ``data``; ``polyret`` -> ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep] + ([node.module] if node.module else []))
    # ``from polyret.data import beir`` imports the submodule when one exists
    return [base] + [f"{base}.{a.name}" for a in node.names]


def imports_of(path: Path, module: str) -> list[tuple[str, int]]:
    """(imported polyret module, line) for every import that can run (TYPE_CHECKING blocks skipped)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.extend((name, node.lineno) for name in _resolve(module, is_package, node))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return [(name, line) for name, line in found if name == "polyret" or name.startswith("polyret.")]


def _function_lengths(path: Path, rel: str) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append((f"{rel}::{node.name}", node.end_lineno - first + 1))
    return out


def _find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(out)


def _check_edge(findings: Findings, src_mod: str, dst_mod: str, where: str) -> None:
    src, dst = unit_of(src_mod), unit_of(dst_mod)
    if src == dst:
        return
    findings.edges.setdefault((src, dst), []).append(where)
    if dst == TESTING and src != TESTING:
        problem = f"{where}: {src_mod} imports {dst_mod} (nothing in src may import polyret.testing)"
    elif src == TESTING:
        return
    elif layer_of(dst) > layer_of(src) or layer_of(src) < 0 or layer_of(dst) < 0:
        problem = f"{where}: {src_mod} ({src}) imports {dst_mod} ({dst}), which is not below it"
    else:
        return
    if (src, dst) in KNOWN_EDGES:
        findings.known.append(problem)
    else:
        findings.upward.append(problem)


def check(package: Path = PACKAGE) -> Findings:
    """Every finding for the package at ``package`` (see the module docstring)."""
    findings = Findings()
    files = sorted(package.rglob("*.py"))
    modules = {module_name(p, package): p for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        rel = path.relative_to(package.parent.parent).as_posix()
        for target, line in imports_of(path, mod):
            if target not in modules:
                continue  # ``from polyret.x import name`` also yields ``polyret.x.name``: not a module
            if target != mod and not mod.startswith(target + "."):  # a package's own __init__ is fine
                graph[mod].add(target)
            _check_edge(findings, mod, target, f"{rel}:{line}")
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            item = f"{rel}: {lines} lines (limit {MAX_MODULE_LINES})"
            (findings.known if rel in KNOWN_LONG_MODULES else findings.long_modules).append(item)
        for name, length in _function_lengths(path, rel):
            if length > MAX_FUNCTION_LINES:
                item = f"{name}: {length} lines (limit {MAX_FUNCTION_LINES})"
                (findings.known if name in KNOWN_LONG_FUNCTIONS else findings.long_functions).append(item)
    findings.cycles = _find_cycles(graph)
    return findings


def render(findings: Findings) -> str:
    lines = ["package import graph (importer -> imported: number of import statements):"]
    for (src, dst), where in sorted(findings.edges.items(), key=lambda kv: (layer_of(kv[0][0]), kv[0])):
        lines.append(f"  {src} -> {dst}: {len(where)}")
    for title, items in (
        ("upward imports", findings.upward),
        ("import cycles", [" <-> ".join(c) for c in findings.cycles]),
        (f"modules over {MAX_MODULE_LINES} lines", findings.long_modules),
        (f"functions over {MAX_FUNCTION_LINES} lines", findings.long_functions),
        ("known exceptions (being fixed)", findings.known),
    ):
        lines.append(f"{title}: {len(items)}")
        lines += [f"  {item}" for item in items]
    lines.append("OK" if not findings.failures() else f"FAILED: {findings.failures()} problem(s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--package", type=Path, default=PACKAGE, help="the package folder to check")
    args = parser.parse_args(argv)
    findings = check(args.package)
    if args.json:
        data = {
            "edges": {f"{s} -> {d}": w for (s, d), w in sorted(findings.edges.items())},
            "upward": findings.upward,
            "cycles": findings.cycles,
            "long_modules": findings.long_modules,
            "long_functions": findings.long_functions,
            "known": findings.known,
        }
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(render(findings) + "\n")
    return 1 if findings.failures() else 0


if __name__ == "__main__":
    raise SystemExit(main())
