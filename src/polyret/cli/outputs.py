"""Refuse an output path that is one of the command's inputs (written atomically, it would replace it)."""

from __future__ import annotations

from pathlib import Path

from polyret.errors import UserError


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_input_as_output(outputs: dict[str, str | Path], inputs: dict[str, str | Path | None]) -> None:
    """UserError when an output (flag -> path) is an input file, or a file inside an input folder."""
    for out_flag, out in outputs.items():
        out_path = Path(out)
        for in_flag, given in inputs.items():
            if given is None:
                continue
            source = Path(given)
            clash = _same(out_path, source) or (
                source.is_dir() and out_path.exists() and out_path.resolve().is_relative_to(source.resolve()))
            if clash:
                raise UserError(f"{out_flag} {out}: is the input {in_flag} {given} (or inside it); "
                                "writing there would replace what is being read; choose another output path")
