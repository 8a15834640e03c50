"""Contrastive losses."""

from polyret.losses.contrastive import SIMILARITIES, InfoNCELoss, info_nce, model_similarity

__all__ = ["SIMILARITIES", "InfoNCELoss", "info_nce", "model_similarity"]
