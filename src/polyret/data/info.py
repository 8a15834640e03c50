"""Catalog records: a dataset's layout and its download sources."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One downloadable file: ``url`` -> ``target`` (relative to the dataset folder).

    ``checksum`` is ``"sha256:<hex>"`` / ``"md5:<hex>"`` or ``None`` when none is published.
    ``archive="zip"`` extracts the members under ``strip`` into the dataset folder instead.
    """

    url: str
    target: str
    checksum: str | None = None
    archive: str | None = None
    strip: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """A named dataset: where it lives under a data root and where it comes from."""

    name: str
    kind: str  # lareqa | beir | squad | miracl | bright | parallel
    path: str  # folder relative to the data root
    files: tuple[str | tuple[str, ...], ...]  # files the loader needs; a tuple = alternatives
    languages: tuple[str, ...]
    licence: str
    description: str
    sources: tuple[Source, ...] = ()
    parts: tuple[str, ...] = ()  # datasets a derived set (squad-parallel) is built from
    notes: str = ""
    file_langs: dict[str, str] = field(default_factory=dict, hash=False)  # squad file -> language

    def find_files(self, folder: Path) -> list[Path] | None:
        """The needed files under ``folder`` (first present alternative each), or None if any is missing."""
        found: list[Path] = []
        for entry in self.files:
            options = (entry,) if isinstance(entry, str) else entry
            hit = next((folder / o for o in options if (folder / o).is_file()), None)
            if hit is None:
                return None
            found.append(hit)
        return found
