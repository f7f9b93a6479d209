"""Class weights against imbalance of the training labels.

Macro F1 weighs every class alike, so a classifier trained on imbalanced labels is
better off with a loss that does too: each sample is weighted by the inverse
frequency of its class.
"""

import torch
from torch import Tensor


def class_counts(labels: Tensor, num_classes: int) -> Tensor:
    """Returns how often each class occurs in ``labels`` (shape (N,)), shape (C,).

    Raises:
        ValueError: If a label lies outside ``[0, num_classes)``.
    """
    labels = labels.long()
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got {sorted(set(labels.tolist()))}"
        )
    return torch.bincount(labels, minlength=num_classes)


def inverse_frequency_weights(labels: Tensor, num_classes: int) -> Tensor:
    """Cross-entropy class weights ``N / (C * count)``, shape (C,), float32.

    A balanced split gets weights 1. Classes absent from ``labels`` get weight 0:
    they never occur as a target, so their weight is never used.

    Raises:
        ValueError: If ``labels`` is empty or holds labels outside the classes.
    """
    if labels.numel() == 0:
        raise ValueError("labels are empty")
    counts = class_counts(labels, num_classes).float()
    weights = labels.numel() / (num_classes * counts)
    return torch.where(counts > 0, weights, torch.zeros_like(weights))
