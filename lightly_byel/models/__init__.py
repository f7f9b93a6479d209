"""Models and heads of BYEL, encoders by name, and trained classifiers in use."""

from lightly_byel.models.backbones import build_backbone
from lightly_byel.models.emotion_model import EmotionModel, ModelInfo, Prediction
from lightly_byel.models.modules import BYELPredictionHead, EmotionClassifier

__all__ = [
    "BYELPredictionHead",
    "EmotionClassifier",
    "EmotionModel",
    "ModelInfo",
    "Prediction",
    "build_backbone",
]
