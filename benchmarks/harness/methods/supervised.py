"""Supervised baseline: the encoder trained with cross-entropy on the labels."""

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from harness.config.settings import ModelSettings, PretrainSettings
from harness.methods.base import PretrainMethod


class Supervised(PretrainMethod):
    """The backbone and a linear classifier trained with cross-entropy.

    The baseline of the BYEL paper and of the ABAW4 challenge, trained on the
    synthetic labels.
    """

    def __init__(
        self,
        model: ModelSettings | Mapping[str, Any],
        pretrain: PretrainSettings | Mapping[str, Any],
        class_weights: Tensor | Sequence[float] | None = None,
    ) -> None:
        """Builds the backbone and classifier.

        Args:
            model: The encoder settings and the number of classes.
            pretrain: The optimisation settings.
            class_weights: Weight of each class in the cross-entropy, shape
                ``(num_classes,)``, e.g. inverse class frequencies; ``None`` weighs
                all classes alike.

        Raises:
            ValueError: If ``class_weights`` does not hold one finite, non-negative
                weight per class.
        """
        weights = None if class_weights is None else torch.as_tensor(class_weights)
        super().__init__(
            model,
            pretrain,
            # Saved as a list so that the checkpoint's hyperparameters stay plain.
            class_weights=None if weights is None else weights.tolist(),
        )
        num_classes = self.model_settings.num_classes
        if weights is not None and (
            tuple(weights.shape) != (num_classes,)
            or not bool(torch.isfinite(weights).all())
            or bool((weights < 0).any())
        ):
            raise ValueError(
                f"class_weights must hold {num_classes} finite weights >= 0, got "
                f"{weights.tolist()}."
            )
        self.classifier = nn.Linear(self.num_ftrs, num_classes)
        self.class_weights: Tensor | None
        self.register_buffer(
            "class_weights", None if weights is None else weights.float()
        )

    def losses(self, inputs: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """The (class-weighted) cross-entropy of a batch of images."""
        logits = self.classifier(self(inputs))
        return {
            "train_loss": F.cross_entropy(logits, labels, weight=self.class_weights)
        }
