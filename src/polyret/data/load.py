"""``load_dataset(name)``: load any catalog dataset by name with the reader its kind needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from polyret.data.catalog import dataset_path, get_info


def load_dataset(name: str, data_dir: str | Path | None = None, **options: Any) -> Any:
    """Load a catalog dataset from local files (never the network).

    Returns, by kind: ``lareqa`` -> :class:`~polyret.data.lareqa.LareqaData` (option ``languages``);
    ``beir`` -> :class:`~polyret.data.beir.BeirData` (``split``, default ``"test"``);
    ``squad`` -> ``list[QAPair]``; ``miracl`` -> :class:`~polyret.data.miracl.MiraclData`
    (``split``, ``corpus``); ``bright`` -> :class:`~polyret.data.bright.BrightData` (``docs_dir``,
    ``qrels``); ``parallel`` -> ``list[ParallelItem]`` (options of ``load_training_items``).
    """
    kind = get_info(name).kind
    if kind == "lareqa":
        from polyret.data.lareqa import load_lareqa

        return load_lareqa(dataset_path(name, data_dir), **options)
    if kind == "beir":
        from polyret.data.beir import load_beir

        return load_beir(dataset_path(name, data_dir), **options)
    if kind == "squad":
        from polyret.data.parallel import read_dataset_pairs

        if options:
            raise TypeError(f"{name} takes no options, got {sorted(options)}")
        return read_dataset_pairs(name, data_dir)
    if kind == "miracl":
        from polyret.data.miracl import load_miracl

        return load_miracl(name.split("/", 1)[1], data_dir=data_dir, **options)
    if kind == "bright":
        from polyret.data.bright import load_bright

        return load_bright(name.split("/", 1)[1], data_dir=data_dir, **options)
    from polyret.data.parallel import load_training_items

    return load_training_items(name, data_dir, **options)
