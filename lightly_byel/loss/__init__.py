"""Losses of BYEL."""

from lightly_byel.loss.byel_loss import BYELLoss, BYELLossComponents

__all__ = ["BYELLoss", "BYELLossComponents"]
