"""BYEL (Bootstrap Your Emotion Latent) for the Lightly self-supervised library.

BYEL [0] is BYOL with an emotion classifier on the online predictions and an
emotion vector subtraction inside the BYOL loss. It trains a facial-expression
encoder on synthetic faces for use on real ones.

- [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003
"""

from typing import TYPE_CHECKING

from lightly_byel._exports import lazy_exports

__version__ = "0.1.0"

if TYPE_CHECKING:
    from lightly_byel.loss import BYELLoss, BYELLossComponents
    from lightly_byel.models import BYELPredictionHead, EmotionClassifier
    from lightly_byel.transforms import (
        BYELBatchTransform,
        BYELBatchViewTransform,
        BYELTransform,
        BYELViewTransform,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BYELLoss": "lightly_byel.loss.byel_loss",
        "BYELLossComponents": "lightly_byel.loss.byel_loss",
        "BYELPredictionHead": "lightly_byel.models.modules.heads",
        "BYELBatchTransform": "lightly_byel.transforms.batch_transform",
        "BYELBatchViewTransform": "lightly_byel.transforms.batch_transform",
        "BYELTransform": "lightly_byel.transforms.byel_transform",
        "BYELViewTransform": "lightly_byel.transforms.byel_transform",
        "EmotionClassifier": "lightly_byel.models.modules.heads",
    },
)

__all__ = [
    "BYELBatchTransform",
    "BYELBatchViewTransform",
    "BYELLoss",
    "BYELLossComponents",
    "BYELPredictionHead",
    "BYELTransform",
    "BYELViewTransform",
    "EmotionClassifier",
    "__version__",
]
