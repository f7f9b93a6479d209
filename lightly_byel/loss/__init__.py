"""Losses of BYEL."""

from lightly_byel.loss.byel_loss import BYELLoss, BYELLossTerms

__all__ = ["BYELLoss", "BYELLossTerms"]
