"""BYEL as one module: backbone, heads, momentum copies and loss."""

import copy
from collections.abc import Sequence

import torch
from lightly.models.modules.heads import BYOLProjectionHead
from lightly.models.utils import deactivate_requires_grad, update_momentum
from torch import Tensor, nn

from lightly_byel.loss.byel_loss import BYELLoss, BYELLossComponents
from lightly_byel.models.modules.heads import BYELPredictionHead, EmotionClassifier


def _project(backbone: nn.Module, projection_head: nn.Module, x: Tensor) -> Tensor:
    """Projections of images ``x``: the online or the momentum path of one network."""
    projections: Tensor = projection_head(backbone(x).flatten(start_dim=1))
    return projections


class BYEL(nn.Module):
    """Bootstrap Your Emotion Latent: BYOL with an emotion classifier [0].

    Holds the online network (``backbone``, Lightly's ``BYOLProjectionHead``,
    :class:`BYELPredictionHead`), its momentum copies (``backbone_momentum``,
    ``projection_head_momentum``, made once here and never trained by gradients),
    and a :class:`BYELLoss`. Nothing runs at construction: no dummy forward pass.
    Call :meth:`update_momentum` once per optimizer step.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> import torch, torchvision
        >>> resnet = torchvision.models.resnet18()
        >>> backbone = torch.nn.Sequential(*list(resnet.children())[:-1])
        >>> model = BYEL(backbone, num_ftrs=512, hidden_dim=1024)
        >>> views = [torch.randn(4, 3, 64, 64), torch.randn(4, 3, 64, 64)]
        >>> labels = torch.tensor([0, 3, 5, 3])
        >>> loss = model.loss(views, labels)
        >>> loss.backward()
        >>> model.update_momentum(0.99)
        >>> model.backbone(views[0]).flatten(start_dim=1).shape  # features to keep
        torch.Size([4, 512])
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_ftrs: int = 2048,
        hidden_dim: int = 4096,
        out_dim: int = 256,
        num_classes: int = 6,
        classification_weight: float = 1.0,
        orthonormality_weight: float = 1.0,
        subtract: bool = True,
    ) -> None:
        """Builds the online and momentum networks around ``backbone``.

        Args:
            backbone: Maps images ``(batch, 3, H, W)`` to features that flatten to
                ``(batch, num_ftrs)``, e.g. a ResNet without its last layer.
            num_ftrs: Dimension of the backbone's features (2048 for ResNet-50).
            hidden_dim: Hidden dimension of the projection and prediction MLPs.
            out_dim: Dimension of the projections and predictions.
            num_classes: Number of emotion classes.
            classification_weight: Weight of the cross-entropy term of the loss.
            orthonormality_weight: Weight of the orthonormality term of the loss.
            subtract: Whether the loss subtracts the emotion vectors.

        Raises:
            ValueError: If a dimension or loss weight is invalid.
        """
        super().__init__()
        self.backbone = backbone
        self.projection_head = BYOLProjectionHead(num_ftrs, hidden_dim, out_dim)
        self.prediction_head = BYELPredictionHead(
            out_dim, hidden_dim, out_dim, num_classes
        )
        self.backbone_momentum = copy.deepcopy(backbone)
        self.projection_head_momentum = copy.deepcopy(self.projection_head)
        deactivate_requires_grad(self.backbone_momentum)
        deactivate_requires_grad(self.projection_head_momentum)
        self.criterion = BYELLoss(
            classification_weight=classification_weight,
            orthonormality_weight=orthonormality_weight,
            subtract=subtract,
        )

    @property
    def classifier(self) -> EmotionClassifier:
        """The emotion classifier on the predictions."""
        return self.prediction_head.classifier

    def forward(self, x: Tensor) -> Tensor:
        """Online predictions ``(batch, out_dim)`` of images ``(batch, 3, H, W)``."""
        projections = _project(self.backbone, self.projection_head, x)
        predictions: Tensor = self.prediction_head(projections)
        return predictions

    @torch.no_grad()
    def forward_momentum(self, x: Tensor) -> Tensor:
        """Target projections ``(batch, out_dim)`` of images, without gradient."""
        return _project(self.backbone_momentum, self.projection_head_momentum, x)

    def loss(self, views: Sequence[Tensor], labels: Tensor | None = None) -> Tensor:
        """Computes the BYEL loss of a batch of two views.

        Args:
            views: The two views ``[x_1, x_2]``, each ``(batch, 3, H, W)``.
            labels: Class indices of shape ``(batch,)``, or ``None``.

        Returns:
            The scalar loss.

        Raises:
            ValueError: On bad input (see :class:`BYELLoss`).
        """
        return self.loss_components(views, labels).total

    def loss_components(
        self, views: Sequence[Tensor], labels: Tensor | None = None
    ) -> BYELLossComponents:
        """Computes the BYEL loss of a batch of two views and its parts, for logging.

        Takes the same arguments as :meth:`loss`.

        Returns:
            The weighted total and the unweighted parts.
        """
        if len(views) != 2:
            raise ValueError(f"BYEL needs exactly two views, got {len(views)}.")
        predictions = [self(view) for view in views]
        targets = [self.forward_momentum(view) for view in views]
        classifier = self.classifier
        return self.criterion.forward_components(
            predictions, targets, labels, classifier
        )

    def update_momentum(self, m: float) -> None:
        """Moves the momentum networks towards the online ones: ``t = m t + (1-m) o``.

        Args:
            m: The momentum, in [0, 1]; BYEL used 0.99, Lightly's BYOL a cosine
                schedule from 0.99 to 1.

        Raises:
            ValueError: If ``m`` is outside [0, 1].
        """
        if not 0.0 <= m <= 1.0:
            raise ValueError(f"momentum m must lie in [0, 1], got {m!r}.")
        update_momentum(self.backbone, self.backbone_momentum, m=m)
        update_momentum(self.projection_head, self.projection_head_momentum, m=m)
