"""One writer and one config per experiment folder.

- :class:`FolderLock`: an exclusive OS lock (``fcntl.flock``) on ``OUT/.polyret.lock`` for as long as a
  run writes the folder; the kernel releases it when the process exits or is killed, so a crashed run
  never leaves a stale lock. A second run on the same folder stops at once with one line.
- :func:`spec_differences`: the dotted keys where a folder's ``experiment.yaml`` and a new resolved
  spec differ. A run with a different spec is refused unless ``--allow-spec-change``; then
  :func:`supersede` moves the old ``experiment.yaml``, ``manifest.json`` and every cell the new plan
  does not contain into ``OUT/superseded/<old spec hash>/``, so the report never mixes the two configs.
  Cells whose id (which carries the hash of the cell's resolved training config) is in the new plan are
  the same computation and stay.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path
from typing import Any

from polyret.errors import UserError

LOCK_FILE = ".polyret.lock"
SUPERSEDED = "superseded"


class FolderLock:
    """``with FolderLock(out):`` holds the folder's lock (UserError when another process has it)."""

    def __init__(self, root: Path):
        self.path = Path(root) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(f"{self.path.parent}: another polyret run (pid {holder}) is writing this "
                            "experiment folder; wait for it to finish or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def spec_differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """``key.path: old -> new`` for every leaf where two resolved specs (plain dicts) differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in list(old) + [k for k in new if k not in old]:
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in new:
                out.append(f"{where}: {_short(old[key])} -> (removed)")
            elif key not in old:
                out.append(f"{where}: (absent) -> {_short(new[key])}")
            else:
                out += spec_differences(old[key], new[key], where)
        return out
    return [] if old == new else [f"{prefix}: {_short(old)} -> {_short(new)}"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def refuse_change(root: Path, changes: list[str]) -> None:
    shown = "; ".join(changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4 else "")
    raise UserError(f"{root / 'experiment.yaml'}: this folder holds a run of another configuration "
                    f"({shown}); "
                    "use a new --out, or --allow-spec-change to keep the old cells apart under "
                    f"{root / SUPERSEDED}/")


def supersede(root: Path, old_hash: str, keep_cells: set[str]) -> Path:
    """Move the old spec, manifest and the cells not in ``keep_cells`` to ``OUT/superseded/<old_hash>``."""
    dest = root / SUPERSEDED / old_hash
    (dest / "cells").mkdir(parents=True, exist_ok=True)
    for name in ("experiment.yaml", "manifest.json", "preregistration.json"):
        if (root / name).is_file():
            (root / name).replace(dest / name)
    cells = root / "cells"
    if cells.is_dir():
        for cell in sorted(cells.iterdir()):
            if cell.is_dir() and cell.name not in keep_cells:
                target = dest / "cells" / cell.name
                if target.exists():
                    shutil.rmtree(target)
                cell.replace(target)
    return dest
