"""BYEL loss: BYOL with emotion vector subtraction, cross-entropy, orthonormality."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:
    # Only for annotations: the models import this module at run time.
    from lightly_byel.models.modules.heads import EmotionClassifier


class BYELLossComponents(NamedTuple):
    """The parts of the BYEL objective for one batch, for logging.

    Attributes:
        total: The weighted objective,
            ``byol + classification_weight * classification
            + orthonormality_weight * orthonormality``.
        byol: The symmetric BYOL term on the (subtracted) predictions, in ``[0, 8]``.
        classification: The cross-entropy of both views, unweighted; zero without
            labels or with ``classification_weight=0``.
        orthonormality: ``sum(|I - W^T W|)``, unweighted; zero with
            ``orthonormality_weight=0``.
    """

    total: Tensor
    byol: Tensor
    classification: Tensor
    orthonormality: Tensor


class BYELLoss(nn.Module):
    """The BYEL objective of "Bootstrap Your Emotion Latent" [0].

    For online predictions ``p_1, p_2``, target projections ``t_1, t_2`` (constants),
    labels ``y`` and the emotion classifier's weight ``W`` of shape
    ``(dim, num_classes)``::

        e    = W[:, y]^T                      emotion vector of each label
        p~_i = p_i - ||p_i||_2 * e            emotion vector subtraction
        byol = mean(2 - 2 cos(p~_1, t_2)) + mean(2 - 2 cos(p~_2, t_1))
        ce   = CE(classifier(p_1), y) + CE(classifier(p_2), y)
        orth = sum(|I - W^T W|)
        loss = byol + classification_weight * ce + orthonormality_weight * orth

    The classifier sees the predictions before the subtraction. Without labels
    (``labels=None``) there is no subtraction and no cross-entropy:
    ``loss = byol + orthonormality_weight * orth``. With ``subtract=False`` the BYOL
    term uses the plain predictions (the "without subtraction" ablation); a weight of
    zero switches a term off. The loss is a mean over samples, so under DDP it needs
    no gathering across devices. It is computed in the predictions' dtype, at least
    float32 (float64 predictions give a float64 loss); the classifier runs in the
    dtype of its weights.

    - [0]: BYEL, 2022, https://arxiv.org/abs/2207.10003

    Examples:
        >>> import torch
        >>> from lightly_byel.models.modules.heads import BYELPredictionHead
        >>> head = BYELPredictionHead(input_dim=256, hidden_dim=1024, output_dim=256)
        >>> criterion = BYELLoss()
        >>> p1, p2 = head(torch.randn(8, 256)), head(torch.randn(8, 256))
        >>> t1, t2 = torch.randn(8, 256), torch.randn(8, 256)
        >>> labels = torch.randint(0, 6, (8,))
        >>> loss = criterion([p1, p2], [t1, t2], labels, head.classifier)
        >>> loss.shape
        torch.Size([])
        >>> parts = criterion.forward_components(
        ...     [p1, p2], [t1, t2], labels, head.classifier
        ... )
        >>> sorted(parts._asdict())
        ['byol', 'classification', 'orthonormality', 'total']
        >>> bool(torch.isclose(parts.total, loss))
        True
    """

    def __init__(
        self,
        classification_weight: float = 1.0,
        orthonormality_weight: float = 1.0,
        subtract: bool = True,
    ) -> None:
        """Configures the loss.

        Args:
            classification_weight: Weight of the emotion cross-entropy term.
            orthonormality_weight: Weight of the orthonormality term.
            subtract: Whether to subtract the emotion vectors from the predictions in
                the BYOL term.

        Raises:
            ValueError: If a weight is negative or not finite, or ``subtract`` is not
                a bool.
        """
        super().__init__()
        for name, value in (
            ("classification_weight", classification_weight),
            ("orthonormality_weight", orthonormality_weight),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
        if not isinstance(subtract, bool):
            raise ValueError(f"subtract must be a bool, got {subtract!r}.")
        self.classification_weight = float(classification_weight)
        self.orthonormality_weight = float(orthonormality_weight)
        self.subtract = subtract

    def forward(
        self,
        predictions: Sequence[Tensor],
        targets: Sequence[Tensor],
        labels: Tensor | None,
        classifier: EmotionClassifier,
    ) -> Tensor:
        """Computes the BYEL objective.

        Args:
            predictions: The online predictions ``[p_1, p_2]`` of the two views, each
                of shape ``(batch, dim)``.
            targets: The target projections ``[t_1, t_2]`` of the same two views, each
                of shape ``(batch, dim)``. No gradient flows into them.
            labels: Class indices of shape ``(batch,)``, of any integer dtype, on
                the predictions' device, or ``None`` for an unlabeled batch.
            classifier: The emotion classifier, usually
                ``BYELPredictionHead.classifier``.

        Returns:
            The scalar loss.

        Raises:
            ValueError: If there are not exactly two views, the shapes disagree,
                the labels are not integer class indices in
                ``[0, classifier.num_classes)`` of shape ``(batch,)`` on the
                predictions' device, or the cross-entropy would run the classifier
                in training mode on a batch of one sample (its batch norm needs
                two; see :class:`EmotionClassifier`).
        """
        return self.forward_components(predictions, targets, labels, classifier).total

    def forward_components(
        self,
        predictions: Sequence[Tensor],
        targets: Sequence[Tensor],
        labels: Tensor | None,
        classifier: EmotionClassifier,
    ) -> BYELLossComponents:
        """Computes the BYEL objective and its parts.

        Takes the same arguments as :meth:`forward` and raises the same errors.

        Returns:
            The weighted total and the unweighted parts.
        """
        p1, p2, t1, t2 = _check_views(predictions, targets, classifier)
        if labels is not None:
            labels = _check_labels(labels, predictions=p1, classifier=classifier)

        # The loss runs in at least float32 even when the network runs in bf16/fp16.
        dtype = torch.promote_types(p1.dtype, torch.float32)
        p1, p2 = p1.to(dtype), p2.to(dtype)
        t1, t2 = t1.detach().to(dtype), t2.detach().to(dtype)

        zero = p1.new_zeros(())
        classification = zero
        if labels is not None and self.classification_weight > 0:
            classification = F.cross_entropy(
                _logits(classifier, p1, dtype), labels
            ) + F.cross_entropy(_logits(classifier, p2, dtype), labels)
        if labels is not None and self.subtract:
            vectors = classifier.emotion_vectors(labels)
            p1 = p1 - p1.norm(dim=1, keepdim=True) * vectors
            p2 = p2 - p2.norm(dim=1, keepdim=True) * vectors
        byol = (2 - 2 * F.cosine_similarity(p1, t2, dim=1)).mean() + (
            2 - 2 * F.cosine_similarity(p2, t1, dim=1)
        ).mean()
        orthonormality = (
            classifier.orthonormality_loss() if self.orthonormality_weight > 0 else zero
        )
        total = (
            byol
            + self.classification_weight * classification
            + self.orthonormality_weight * orthonormality
        )
        return BYELLossComponents(
            total=total,
            byol=byol,
            classification=classification,
            orthonormality=orthonormality,
        )


def _logits(
    classifier: EmotionClassifier, predictions: Tensor, dtype: torch.dtype
) -> Tensor:
    """The classifier's logits of the predictions, in ``dtype``.

    The classifier runs in the dtype of its weights, since its batch norm takes no
    other input dtype: float64 predictions (a float64 loss) with a float32
    classifier are classified in float32, and only the cross-entropy runs in float64.
    """
    logits: Tensor = classifier(predictions.to(classifier.weight.dtype))
    return logits.to(dtype)


def _check_views(
    predictions: Sequence[Tensor],
    targets: Sequence[Tensor],
    classifier: EmotionClassifier,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    for name, views in (("predictions", predictions), ("targets", targets)):
        given: object = views  # typed as a sequence, but a caller may pass a tensor
        if isinstance(given, Tensor) and given.dim() < 3:
            raise ValueError(
                f"{name} must be a sequence of the two views' tensors, got one tensor "
                f"of shape {tuple(given.shape)}."
            )
        if len(views) != 2:
            raise ValueError(
                f"BYELLoss needs exactly two views: {name} has {len(views)}."
            )
        for view in views:
            if not isinstance(view, Tensor):
                raise ValueError(
                    f"{name} must hold tensors, got {type(view).__name__}."
                )
    shapes = [tuple(v.shape) for v in (*predictions, *targets)]
    if len(shapes[0]) != 2 or len(set(shapes)) != 1:
        raise ValueError(
            "predictions and targets must all have the same shape (batch, dim), got "
            f"predictions {shapes[:2]} and targets {shapes[2:]}."
        )
    if shapes[0][0] == 0:
        raise ValueError("predictions and targets hold an empty batch.")
    if shapes[0][1] != classifier.input_dim:
        raise ValueError(
            f"predictions have dimension {shapes[0][1]} but the classifier takes "
            f"{classifier.input_dim}."
        )
    p1, p2 = predictions
    t1, t2 = targets
    return p1, p2, t1, t2


def _check_labels(
    labels: Tensor, predictions: Tensor, classifier: EmotionClassifier
) -> Tensor:
    """Validates the labels and returns them as int64 class indices."""
    if not isinstance(labels, Tensor):
        raise ValueError(
            f"labels must be a tensor of class indices or None, got "
            f"{type(labels).__name__}."
        )
    if labels.dtype == torch.bool or labels.is_floating_point() or labels.is_complex():
        raise ValueError(
            f"labels must be an integer tensor of class indices, got dtype "
            f"{labels.dtype}."
        )
    batch_size = predictions.shape[0]
    if tuple(labels.shape) != (batch_size,):
        raise ValueError(
            f"labels must have shape (batch,) = ({batch_size},) to match the "
            f"predictions, got {tuple(labels.shape)}."
        )
    if labels.device != predictions.device:
        raise ValueError(
            f"labels must be on the predictions' device {predictions.device}, got "
            f"labels on {labels.device}."
        )
    # Indexing and cross-entropy need int64: a uint8 index tensor would act as a
    # boolean mask, and other integer dtypes are rejected by the kernels.
    labels = labels.long()
    low, high = torch.stack(torch.aminmax(labels)).tolist()
    if low < 0 or high >= classifier.num_classes:
        raise ValueError(
            f"labels must lie in [0, {classifier.num_classes}), got values from {low} "
            f"to {high}."
        )
    return labels
