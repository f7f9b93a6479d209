"""Heads of BYEL."""

from lightly_byel.models.modules.heads import BYELPredictionHead, EmotionClassifier

__all__ = ["BYELPredictionHead", "EmotionClassifier"]
