"""Bi-encoder models: ``BiEncoder`` / ``EncoderConfig``, ``set_inference_precision`` and ``load_model``
(folders, built-ins, Hub ids)."""

from __future__ import annotations

from polyret.modeling.encoder import BiEncoder, EncoderConfig, set_inference_precision
from polyret.modeling.registry import ModelNotFoundError, builtin_names, load_model

__all__ = ["BiEncoder", "EncoderConfig", "ModelNotFoundError", "builtin_names", "load_model",
           "set_inference_precision"]
