"""BYEL: BYOL with an emotion classifier and emotion vector subtraction."""

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from harness.config.settings import ModelSettings, PretrainSettings
from harness.methods.base import MomentumMethod
from lightly_byel import BYELLoss, BYELPredictionHead


class BYEL(MomentumMethod):
    """Bootstrap Your Emotion Latent [0] on two labelled views.

    The BYOL networks with :class:`~lightly_byel.BYELPredictionHead` (whose
    emotion classifier holds the emotion vectors) and :class:`~lightly_byel.BYELLoss`.
    The options switch the loss's parts for the ablations.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003
    """

    prediction_head: BYELPredictionHead

    def __init__(
        self,
        model: ModelSettings | Mapping[str, Any],
        pretrain: PretrainSettings | Mapping[str, Any],
        classification_weight: float = 1.0,
        orthonormality_weight: float = 1.0,
        subtract: bool = True,
    ) -> None:
        """Builds the online and momentum networks and the loss.

        Args:
            model: The encoder and head settings and the number of classes.
            pretrain: The optimisation and momentum settings.
            classification_weight: Weight of the emotion cross-entropy (0: off).
            orthonormality_weight: Weight of the orthonormality term (0: off).
            subtract: Whether the BYOL term subtracts the emotion vectors.

        Raises:
            ValueError: If a loss option is invalid (see ``BYELLoss``).
        """
        super().__init__(
            model,
            pretrain,
            classification_weight=classification_weight,
            orthonormality_weight=orthonormality_weight,
            subtract=subtract,
        )
        settings = self.model_settings
        self.prediction_head = BYELPredictionHead(
            input_dim=settings.output_dim,
            hidden_dim=settings.hidden_dim,
            output_dim=settings.output_dim,
            num_classes=settings.num_classes,
        )
        self.criterion = BYELLoss(
            classification_weight=classification_weight,
            orthonormality_weight=orthonormality_weight,
            subtract=subtract,
        )

    def losses(self, inputs: Sequence[Tensor], labels: Tensor) -> dict[str, Tensor]:
        """The BYEL loss of two labelled views and its parts."""
        predictions = [self.forward_online(view) for view in inputs]
        targets = [self.forward_momentum(view) for view in inputs]
        parts = self.criterion.forward_components(
            predictions, targets, labels, self.prediction_head.classifier
        )
        return {
            "train_loss": parts.total,
            "train_byol": parts.byol,
            "train_ce": parts.classification,
            "train_orth": parts.orthonormality,
        }
