"""BiEncoder: a shared-weight Hugging Face encoder with pooling, normalisation and prefixes.

A torch module plus inference; caching, search and file I/O live elsewhere
(``polyret.retrieval.cached`` wraps it with the embedding cache, ``polyret.modeling.st_format``
reads and writes its folders).

- ``BiEncoder(backbone, tokenizer, config)``: wrap any ``transformers`` encoder.
- ``tokenize(texts, side)``: prefixes and per-side max length applied; returns tensors.
- ``forward(features)``: (B, D) embeddings *with* gradients (training).
- ``encode(texts, side=...)``: (N, D) float32 numpy, no gradients: tokenised once, length-sorted,
  dynamically padded, batched by count and optionally by a token budget; non-finite output refused.
- :func:`set_inference_precision`: bf16 *weights* (not autocast) for encoding, exact fp32 back.
- ``save(path)`` / ``BiEncoder.load(path)``: sentence-transformers folder format.
- ``fingerprint()``: a cheap hash of config + tokenizer + a weight sample (cache key; the same in
  fp32 and bf16).
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import torch
from torch import nn

from polyret.errors import NonFiniteError
from polyret.modeling.config import SIDES, EncoderConfig, Side, check_side
from polyret.modeling.pooling import pool
from polyret.modeling.st_format import read_st_folder, save_st_folder

__all__ = ["SIDES", "BiEncoder", "EmptyTextWarning", "EncoderConfig", "Side", "TruncationWarning",
           "check_finite", "check_side", "length_batches", "set_inference_precision"]

TOKENIZE_CHUNK = 50_000  # texts tokenised (and length-sorted) together; bounds memory for huge inputs
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


class TruncationWarning(UserWarning):
    """Some texts were longer than the side's max length and were truncated."""


class EmptyTextWarning(UserWarning):
    """Some texts were empty or whitespace-only (embedded from the prefix / special tokens alone)."""


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of texts, not a single string")
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text {i} is {type(t).__name__}, not str")
    return texts


def check_finite(emb: np.ndarray, what: str) -> np.ndarray:
    """``emb`` unchanged, or :class:`NonFiniteError` naming ``what`` and how many rows are not finite."""
    finite = np.isfinite(emb).all(axis=1) if emb.ndim == 2 else np.isfinite(emb)
    if not finite.all():
        bad = int((~finite).sum())
        raise NonFiniteError(f"{what}: {bad} of {len(finite)} embeddings contain NaN or infinite values "
                             "(a diverged or damaged model?); refusing to use them")
    return emb


def length_batches(lengths: np.ndarray, batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Group text indices longest-first into batches of <= ``batch_size`` texts and, when
    ``max_tokens`` is set, <= ``max_tokens`` padded tokens (texts x longest); every batch has >= 1 text."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    if max_tokens is not None and max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, not {max_tokens}")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = int(lengths[order[start]])  # sorted: the first text is the longest
        size = batch_size if max_tokens is None else max(1, min(batch_size, max_tokens // max(longest, 1)))
        batches.append(order[start : start + size])
        start += size
    return batches


def set_inference_precision(model: BiEncoder, precision: str = "auto") -> str:
    """Cast ``model``'s weights for encoding and return the precision used (``fp32`` / ``bf16``).

    ``auto`` / ``fp32`` / ``bf16`` are resolved by :func:`polyret.hardware.resolve_precision` for the
    model's device. ``bf16`` casts the *weights* (the fast path; autocast re-casts them every call)
    and keeps references to the fp32 tensors, so asking for ``fp32`` again restores them exactly.
    ``model.encode`` returns float32 either way. Meant for inference: do not train in bf16 weights.
    """
    from polyret.hardware import resolve_precision

    used = resolve_precision(precision, model.device)
    if used == model.inference_precision:
        return used
    if used == "bf16":
        model._fp32_master = model.backbone.state_dict()  # references, not copies (fp32 storage kept)
        model.backbone.to(torch.bfloat16)
    else:
        master = model._fp32_master
        model.backbone.to(torch.float32)
        if master is not None:
            model.backbone.load_state_dict(master)  # the exact fp32 values, not bf16 rounded back
        model._fp32_master = None
    return used


class BiEncoder(nn.Module):
    """One encoder for queries and passages (shared weights)."""

    def __init__(self, backbone: nn.Module, tokenizer, config: EncoderConfig | None = None):
        super().__init__()
        self.backbone = backbone
        self.tokenizer = tokenizer
        self.config = config or EncoderConfig()
        self.source: str | None = None  # where it was loaded from (set by loaders)
        self.last_encode_stats: dict[str, int | str] = {}
        self._fp32_master: dict[str, torch.Tensor] | None = None  # set while the weights are bf16

    @property
    def inference_precision(self) -> str:
        """``bf16`` when the weights are bf16 (see :func:`set_inference_precision`), else ``fp32``."""
        return "bf16" if next(self.backbone.parameters()).dtype == torch.bfloat16 else "fp32"

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dim(self) -> int:
        return int(self.backbone.config.hidden_size)

    def prefix(self, side: Side) -> str:
        return self.config.prefix(side)

    def max_length(self, side: Side) -> int:
        return self.config.max_length(side)

    def tokenize(self, texts: list[str], side: Side) -> dict[str, torch.Tensor]:
        """Tokenize with the side's prefix and max length, padded to the longest text."""
        prefix = self.prefix(side)
        return self.tokenizer(
            [prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length(side),
            return_tensors="pt",
        )

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, T) token features -> (B, D) embeddings (L2-normalised when configured)."""
        features = {k: v.to(self.device) for k, v in features.items()}
        out = self.backbone(
            input_ids=features["input_ids"],
            attention_mask=features["attention_mask"],
            **({"token_type_ids": features["token_type_ids"]} if "token_type_ids" in features else {}),
        )
        hidden = out.last_hidden_state.float()  # (B, T, D) pooled in fp32 whatever the weights
        emb = pool(hidden, features["attention_mask"], self.config.pooling)  # (B, D)
        if self.config.normalize:
            emb = nn.functional.normalize(emb, p=2, dim=-1)
        return emb

    # ------------------------------------------------------------------ inference

    def token_ids(self, texts: list[str], side: Side) -> tuple[list[list[int]], int]:
        """Token ids per text (prefix added, truncated to the side's max length) and the number
        of texts that were truncated."""
        max_len = self.max_length(side)
        prefixed = [self.prefix(side) + t for t in texts]
        if not prefixed:
            return [], 0
        if getattr(self.tokenizer, "is_fast", False):
            enc = self.tokenizer(prefixed, truncation=True, max_length=max_len,
                                 return_overflowing_tokens=True, return_attention_mask=False,
                                 return_token_type_ids=False)
            mapping = np.asarray(enc["overflow_to_sample_mapping"])
            _, first, rows = np.unique(mapping, return_index=True, return_counts=True)
            ids = [enc["input_ids"][i] for i in first]  # the first row of each text
            return ids, int((rows > 1).sum())
        full = self.tokenizer(prefixed, truncation=False, return_attention_mask=False)["input_ids"]
        ids = self.tokenizer(prefixed, truncation=True, max_length=max_len,
                             return_attention_mask=False)["input_ids"]
        return ids, sum(len(f) > max_len for f in full)

    def _pad(self, ids: list[list[int]], lengths: np.ndarray, idx: np.ndarray) -> dict[str, torch.Tensor]:
        """One length-sorted batch, padded to its longest text: (B, T) ids and mask on the device."""
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = int(lengths[idx].max())
        input_ids = np.full((len(idx), width), pad_id, dtype=np.int64)  # (B, T)
        mask = np.zeros((len(idx), width), dtype=np.int64)  # (B, T)
        for row, i in enumerate(idx):
            input_ids[row, : lengths[i]] = ids[i]
            mask[row, : lengths[i]] = 1
        dev = self.device
        return {"input_ids": torch.from_numpy(input_ids).to(dev),
                "attention_mask": torch.from_numpy(mask).to(dev)}

    @torch.inference_mode()
    def _encode_uncached(self, texts: list[str], side: Side, batch_size: int, max_tokens: int | None,
                         show_progress: bool | None) -> np.ndarray:
        """Tokenise ``TOKENIZE_CHUNK`` texts at a time (bounded memory), sort each chunk by token
        length, batch, pad per batch, and write rows back in input order."""
        from tqdm.auto import tqdm

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        n_truncated = 0
        was_training = self.training
        self.eval()
        bar = tqdm(total=len(texts), desc=f"encode {side}", unit="text",
                   disable=None if show_progress is None else not show_progress)
        try:
            for c0 in range(0, len(texts), TOKENIZE_CHUNK):
                ids, truncated = self.token_ids(texts[c0 : c0 + TOKENIZE_CHUNK], side)
                n_truncated += truncated
                lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
                for idx in length_batches(lengths, batch_size, max_tokens):
                    out[c0 + idx] = self(self._pad(ids, lengths, idx)).float().cpu().numpy()  # (B, D)
                    bar.update(len(idx))
        finally:
            bar.close()
            self.train(was_training)
        n_empty = sum(not t.strip() for t in texts)
        self.last_encode_stats = {"texts": len(texts), "truncated": n_truncated, "empty": n_empty,
                                  "precision": self.inference_precision}
        if n_truncated:
            warnings.warn(f"{n_truncated} of {len(texts)} {side} texts were longer than "
                          f"{self.max_length(side)} tokens and were truncated", TruncationWarning,
                          stacklevel=4)
        if n_empty:
            warnings.warn(f"{n_empty} of {len(texts)} {side} texts are empty or whitespace-only; they are "
                          "embedded from the prefix / special tokens alone", EmptyTextWarning, stacklevel=4)
        return out

    def encode(
        self,
        texts: list[str],
        side: Side = "passage",
        batch_size: int = 32,
        *,
        max_tokens: int | None = None,
        show_progress: bool | None = None,
        precision: str | None = None,
    ) -> np.ndarray:
        """Embed ``texts`` without gradients; returns (N, D) float32 in input order.

        Args:
            texts: the texts (the side's prefix is added here).
            side: ``query`` or ``passage``.
            batch_size: most texts per forward pass.
            max_tokens: optional token budget per batch (texts x longest text); long texts get
                small batches, short texts up to ``batch_size``.
            show_progress: tqdm bar (None: only on a terminal).
            precision: ``None`` encodes with the weights as they are (see
                :func:`set_inference_precision`); ``auto`` / ``fp32`` / ``bf16`` apply that precision
                for this call only (the weights are restored afterwards).

        Raises:
            NonFiniteError: some embedding holds NaN or inf (a diverged or damaged model).
        """
        check_side(side)
        texts = _check_texts(texts)
        if precision is None:
            out = self._encode_uncached(texts, side, batch_size, max_tokens, show_progress)
        else:
            previous = self.inference_precision
            set_inference_precision(self, precision)
            try:
                out = self._encode_uncached(texts, side, batch_size, max_tokens, show_progress)
            finally:
                set_inference_precision(self, previous)
        return check_finite(out, f"{self.source or 'model'} ({side} side)")

    # ------------------------------------------------------------------ identity, save / load

    def fingerprint(self) -> str:
        """sha256 over the EncoderConfig, backbone config, a tokenizer sample and a weight sample
        (per tensor: name, shape, dtype and ~4k evenly strided values). Cheap (no full pass over
        the weights) and deterministic; any training step, which moves every weight, changes it."""
        h = hashlib.sha256()
        h.update(json.dumps(self.config.to_dict(), sort_keys=True).encode())
        arch = {k: v for k, v in self.backbone.config.to_dict().items()  # not where / by which version
                if not k.startswith("_") and k != "transformers_version"}
        h.update(json.dumps(arch, sort_keys=True, default=str).encode())
        vocab = len(self.tokenizer)
        step = max(1, vocab // 512)
        sample = self.tokenizer.convert_ids_to_tokens(list(range(0, vocab, step)))
        h.update(json.dumps([vocab, sample]).encode())
        state = self._fp32_master if self._fp32_master is not None else self.backbone.state_dict()
        with torch.no_grad():
            for name, t in sorted(state.items()):
                flat = t.detach().reshape(-1)
                sample = flat[:: max(1, flat.numel() // 4096)]  # <= ~4k evenly strided values per tensor
                h.update(f"{name}{tuple(t.shape)}{t.dtype}".encode())
                h.update(sample.to("cpu", torch.float64).numpy().tobytes())
        return h.hexdigest()[:32]

    def save(self, path) -> None:
        """Write a sentence-transformers folder (+ ``polyret.json`` and a model card); fp32 weights."""
        previous = self.inference_precision
        set_inference_precision(self, "fp32")
        try:
            save_st_folder(self, path)
        finally:
            set_inference_precision(self, previous)

    @classmethod
    def load(cls, path, device: str | None = None) -> BiEncoder:
        """Load a sentence-transformers / polyret / Hugging Face folder (eval mode)."""
        backbone, tokenizer, cfg = read_st_folder(path)
        model = cls(backbone, tokenizer, cfg)
        model.source = str(path)
        if device:
            model.to(device)
        model.eval()
        return model
