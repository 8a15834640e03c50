"""Turn an English QA set into parallel training data with a machine-translation model.

Works with Hugging Face MarianMT (one model per direction, e.g. ``Helsinki-NLP/opus-mt-en-es``),
NLLB (``facebook/nllb-200-distilled-600M``, FLORES codes such as ``spa_Latn``) and M2M-100
(``facebook/m2m100_418M``, ISO codes). Translations are batched and cached by text hash under
``polyret.paths.cache_dir("translations", <model>, "<src>-<tgt>.jsonl")``, so a rerun only translates
new texts. The result is :class:`~polyret.types.ParallelItem` objects in the training format
(``polyret.training.data.write_parallel_jsonl`` writes them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from polyret.paths import cache_dir
from polyret.types import ParallelItem, QAPair

log = logging.getLogger(__name__)

NLLB_CODES = {"en": "eng_Latn", "es": "spa_Latn", "de": "deu_Latn", "ar": "arb_Arab", "zh": "zho_Hans",
              "ru": "rus_Cyrl", "th": "tha_Thai", "tr": "tur_Latn", "hi": "hin_Deva", "da": "dan_Latn",
              "it": "ita_Latn", "fr": "fra_Latn", "vi": "vie_Latn", "el": "ell_Grek"}


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class TranslationCache:
    """Append-only jsonl of ``{"h": hash(source), "t": translation}`` for one model and direction."""

    def __init__(self, model_name: str, src: str, tgt: str):
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name)
        self.path = cache_dir("translations", slug) / f"{src}-{tgt}.jsonl"
        self.table: dict[str, str] = {}
        if self.path.is_file():
            for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    row = json.loads(line)
                    self.table[row["h"]] = row["t"]
                except (json.JSONDecodeError, KeyError):
                    log.warning("%s:%d: unreadable cache row skipped", self.path, n)

    def add(self, pairs: Mapping[str, str]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            for h, t in pairs.items():
                self.table[h] = t
                f.write(json.dumps({"h": h, "t": t}, ensure_ascii=False) + "\n")


def _load(model):
    """(model, tokenizer, name) from a hub id / folder or a ``(model, tokenizer)`` pair."""
    if isinstance(model, str):
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        mt = AutoModelForSeq2SeqLM.from_pretrained(model).eval()
        return mt, AutoTokenizer.from_pretrained(model), model
    mt, tok = model
    return mt.eval(), tok, getattr(mt.config, "name_or_path", "") or type(mt).__name__


def _target_kwargs(tok, src: str, tgt: str) -> dict:
    """Language codes for many-to-many models (NLLB, M2M-100); nothing for MarianMT."""
    if not hasattr(tok, "src_lang"):
        return {}
    name = type(tok).__name__.lower()
    src_code, tgt_code = src, tgt
    if "nllb" in name:
        src_code, tgt_code = NLLB_CODES.get(src, src), NLLB_CODES.get(tgt, tgt)
    tok.src_lang = src_code
    if hasattr(tok, "get_lang_id"):  # M2M-100
        return {"forced_bos_token_id": tok.get_lang_id(tgt_code)}
    return {"forced_bos_token_id": tok.convert_tokens_to_ids(tgt_code)}


def translate_texts(texts: Sequence[str], model, src: str, tgt: str, batch_size: int = 16,
                    max_length: int = 512, max_new_tokens: int | None = None, cache_name: str | None = None,
                    progress: bool = True) -> list[str]:
    """Translate ``texts`` (deduplicated, cached); ``model`` is a hub id/folder or (model, tokenizer)."""
    import torch
    from tqdm.auto import tqdm

    name = cache_name or (model if isinstance(model, str) else None)
    loaded = None
    if name is None:
        loaded = _load(model)
        name = loaded[2]
    cache = TranslationCache(name, src, tgt)
    todo = sorted({t for t in texts if text_hash(t) not in cache.table})
    if todo:
        mt, tok, _ = loaded or _load(model)
        extra = _target_kwargs(tok, src, tgt)
        for i in tqdm(range(0, len(todo), batch_size), disable=not progress, desc=f"translate {src}->{tgt}"):
            chunk = todo[i:i + batch_size]
            enc = tok(chunk, return_tensors="pt", padding=True, truncation=True, max_length=max_length)
            enc = {k: v.to(mt.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            with torch.inference_mode():
                out = mt.generate(**enc, **extra, num_beams=1, do_sample=False,
                                  **({"max_new_tokens": max_new_tokens} if max_new_tokens else {}))
            cache.add({text_hash(s): t.strip() for s, t in
                       zip(chunk, tok.batch_decode(out, skip_special_tokens=True), strict=True)})
    return [cache.table[text_hash(t)] for t in texts]


def translate_qa_pairs(pairs: Sequence[QAPair], models: Mapping[str, object], src: str = "en",
                       **kwargs) -> list[ParallelItem]:
    """English QA pairs -> parallel items holding the original plus one translation per target.

    ``models`` maps a target language to its MT model (hub id/folder or (model, tokenizer));
    ``kwargs`` go to :func:`translate_texts`. Answers are not translated (retrieval needs none).
    """
    items = {p.item_id: {src: p} for p in pairs}
    for tgt, model in models.items():
        questions = translate_texts([p.question for p in pairs], model, src, tgt, **kwargs)
        passages = translate_texts([p.passage for p in pairs], model, src, tgt, **kwargs)
        for p, q, d in zip(pairs, questions, passages, strict=True):
            rest = p.passage_id.split(":", 1)[1] if p.passage_id.startswith(f"{src}:") else p.passage_id
            items[p.item_id][tgt] = QAPair(item_id=p.item_id, lang=tgt, question=q, passage=d,
                                           passage_id=f"{tgt}:{rest}", title=p.title, answer="")
    return [ParallelItem(item_id=k, pairs=v) for k, v in items.items()]


def write_translated(items: Sequence[ParallelItem], path: str | Path) -> None:
    from polyret.training.data import write_parallel_jsonl

    write_parallel_jsonl(items, path)
