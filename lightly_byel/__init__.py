"""BYEL (Bootstrap Your Emotion Latent) for the Lightly self-supervised library.

BYEL [0] is BYOL with an emotion classifier on the online predictions and an
emotion vector subtraction inside the BYOL loss. It trains a facial-expression
encoder on synthetic faces for use on real ones.

- [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003
"""

from lightly_byel.loss import BYELLoss, BYELLossTerms
from lightly_byel.models import BYEL, BYELPredictionHead, EmotionClassifier
from lightly_byel.transforms import BYELTransform, BYELViewTransform

__version__ = "0.1.0"

__all__ = [
    "BYEL",
    "BYELLoss",
    "BYELLossTerms",
    "BYELPredictionHead",
    "BYELTransform",
    "BYELViewTransform",
    "EmotionClassifier",
    "__version__",
]
