"""Contrastive losses."""

from polyret.losses.contrastive import InfoNCELoss, info_nce

__all__ = ["InfoNCELoss", "info_nce"]
