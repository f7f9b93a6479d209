"""Models and heads of BYEL."""

from lightly_byel.models.byel import BYEL
from lightly_byel.models.modules import BYELPredictionHead, EmotionClassifier

__all__ = ["BYEL", "BYELPredictionHead", "EmotionClassifier"]
