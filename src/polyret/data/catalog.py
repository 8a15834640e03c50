"""The dataset catalog: local layout, official download locations, checksums, languages, licences.

Data-root resolution (first hit wins; :func:`data_roots` lists them):

1. an explicit ``data_dir`` (``--data-dir``): only that folder is searched;
2. ``$POLYRET_DATA_DIR``;
3. ``../shared/data`` relative to the current working directory;
4. ``../shared/data`` relative to the project checkout (when polyret runs from a source tree);
5. the user cache, :func:`polyret.paths.cache_dir` ``("data")`` (where ``polyret data download`` writes).

Loading never touches the network. Checksums are recorded only where known: the sha256 of the
LAReQA / XQuAD files at the pinned commits (from the data's PROVENANCE.tsv, verified against the
local copies) and the md5 BEIR publishes for its zips; everything else is ``None`` (not published).
"""

from __future__ import annotations

import os
from pathlib import Path

from polyret.data._entries import build_catalog
from polyret.data.errors import DatasetNotFound, UnknownDataset
from polyret.data.info import DatasetInfo, Source
from polyret.paths import cache_dir

DATA_ENV = "POLYRET_DATA_DIR"


def _project_checkout() -> Path | None:
    repo = Path(__file__).resolve().parents[3]
    return repo if (repo / "pyproject.toml").is_file() else None


def data_roots(data_dir: str | Path | None = None) -> list[Path]:
    """The data roots searched, in order (see the module docstring)."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    roots: list[Path] = []
    if os.environ.get(DATA_ENV):
        roots.append(Path(os.environ[DATA_ENV]).expanduser())
    roots.append((Path.cwd() / ".." / "shared" / "data").resolve())
    repo = _project_checkout()
    if repo is not None:
        roots.append((repo.parent / "shared" / "data").resolve())
    roots.append(cache_dir("data"))
    out: list[Path] = []
    for r in roots:
        if r not in out:
            out.append(r)
    return out


def resolve_data_root(data_dir: str | Path | None = None) -> Path:
    """The data root to use: ``data_dir`` if given (must exist), else the first existing root."""
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"--data-dir {root} is not a folder")
        return root
    roots = data_roots()
    return next((r for r in roots if r.is_dir()), roots[-1])


def get_info(name: str) -> DatasetInfo:
    """The catalog entry of ``name`` (KeyError listing the known names)."""
    try:
        return CATALOG[name]
    except KeyError:
        raise UnknownDataset(f"unknown dataset {name!r}; known: {', '.join(sorted(CATALOG))}") from None


def dataset_path(name: str, data_dir: str | Path | None = None) -> Path:
    """The folder of ``name`` under the first data root that holds all its files.

    Raises :class:`DatasetNotFound` naming every place searched and how to get the data.
    For a derived set (``squad-parallel``) this is the data root holding all its parts.
    """
    info = get_info(name)
    searched: list[Path] = []
    for root in data_roots(data_dir):
        if info.parts:
            if all(_has(get_info(p), root) for p in info.parts):
                return root
            searched.append(root)
            continue
        folder = root / info.path
        if info.find_files(folder) is not None:
            return folder
        searched.append(folder)
    hint = ""
    if info.parts:
        hint = f"{name} is built from {', '.join(info.parts)}; each must be under one data root."
    elif not info.sources:
        hint = (
            f"No public download location is recorded for {name!r}; place its files "
            f"({', '.join(_file_names(info))}) under <data root>/{info.path}."
        )
    raise DatasetNotFound(name, searched, hint)


def _has(info: DatasetInfo, root: Path) -> bool:
    return info.find_files(root / info.path) is not None


def _file_names(info: DatasetInfo) -> list[str]:
    return [e if isinstance(e, str) else " or ".join(e) for e in info.files]


def dataset_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files of ``name`` (first present alternative of each), resolved like :func:`dataset_path`."""
    info = get_info(name)
    if info.parts:
        raise ValueError(f"{name} is derived from {info.parts}; ask for its parts' files")
    files = info.find_files(dataset_path(name, data_dir))
    assert files is not None  # dataset_path checked them
    return files


def is_available(name: str, data_dir: str | Path | None = None) -> Path | None:
    """Where ``name`` is found, or None."""
    try:
        return dataset_path(name, data_dir)
    except DatasetNotFound:
        return None


CATALOG: dict[str, DatasetInfo] = build_catalog()
"""name -> entry, for every dataset polyret knows (built from plain data, no I/O)."""

__all__ = [
    "CATALOG",
    "DATA_ENV",
    "DatasetInfo",
    "Source",
    "data_roots",
    "dataset_files",
    "dataset_path",
    "get_info",
    "is_available",
    "resolve_data_root",
]
