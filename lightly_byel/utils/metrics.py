"""Classification metrics of the ABAW expression challenge and their uncertainty.

The challenge scores expressions by macro F1: the unweighted mean of the per-class F1
scores over all classes (scikit-learn's ``f1_score(average="macro")``, which a test
compares with; the library computes it from the confusion matrix, without
scikit-learn). Here every
class in ``range(num_classes)`` counts, so a class absent from both the labels and
the predictions contributes an F1 of 0 (``zero_division=0``) instead of being left
out of the mean; that keeps scores comparable between splits and resamples.
"""

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt
from torch import Tensor

Labels = Sequence[int] | npt.NDArray[np.integer] | Tensor
"""Class indices of a split, one per sample."""


class ClassificationMetrics(TypedDict):
    """Scores of predictions against labels.

    Attributes:
        macro_f1: Unweighted mean of the per-class F1 scores.
        accuracy: Share of correct predictions.
        per_class_f1: F1 score of each class, by class name.
        confusion_matrix: Counts with true classes as rows and predicted classes as
            columns, in class-index order.
    """

    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    confusion_matrix: list[list[int]]


def as_label_array(
    labels: Labels, num_classes: int, name: str
) -> npt.NDArray[np.int64]:
    """Returns labels as a 1-D int64 array after checking them.

    Args:
        labels: Class indices.
        num_classes: Number of classes; every label must lie in ``[0, num_classes)``.
        name: Name of the argument, for error messages.

    Raises:
        ValueError: If the labels are not a 1-D sequence of integers in range.
    """
    if isinstance(labels, Tensor):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got {array.dtype}")
    array = array.astype(np.int64)
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        bad = array[(array < 0) | (array >= num_classes)][0]
        raise ValueError(f"{name} holds {bad}, outside [0, {num_classes})")
    return array


def _check_pair(
    y_true: Labels, y_pred: Labels, num_classes: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    true = as_label_array(y_true, num_classes, "y_true")
    pred = as_label_array(y_pred, num_classes, "y_pred")
    if len(true) != len(pred):
        raise ValueError(
            f"y_true and y_pred differ in length: {len(true)} != {len(pred)}"
        )
    if len(true) == 0:
        raise ValueError("y_true and y_pred are empty")
    return true, pred


def classification_metrics(
    y_true: Labels, y_pred: Labels, class_names: Sequence[str]
) -> ClassificationMetrics:
    """Scores predictions by macro F1, accuracy, per-class F1 and confusion matrix.

    Args:
        y_true: True class indices, shape (N,).
        y_pred: Predicted class indices, shape (N,).
        class_names: Name of each class, in class-index order.

    Returns:
        The scores. Classes absent from both ``y_true`` and ``y_pred`` have an F1
        of 0 and count in the macro mean.

    Raises:
        ValueError: If the inputs are empty, differ in length or hold labels
            outside ``range(len(class_names))``.

    Examples:
        >>> scores = classification_metrics([0, 1, 1], [0, 1, 0], ["a", "b", "c"])
        >>> round(scores["macro_f1"], 4), scores["per_class_f1"]["c"]
        (0.4444, 0.0)
    """
    true, pred = _check_pair(y_true, y_pred, len(class_names))
    classes = len(class_names)
    matrix = np.bincount(true * classes + pred, minlength=classes**2)
    matrix = matrix.reshape(classes, classes)
    per_class = _f1_of_matrices(matrix)
    return {
        "macro_f1": float(per_class.mean()),
        "accuracy": float(np.trace(matrix) / len(true)),
        "per_class_f1": {
            name: float(score)
            for name, score in zip(class_names, per_class, strict=True)
        },
        "confusion_matrix": [[int(count) for count in row] for row in matrix],
    }


def _f1_of_matrices(matrices: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Per-class F1 of confusion matrices ``(..., C, C)``, true classes as rows.

    F1 = 2 TP / (true count + predicted count), 0 where a class has neither.
    """
    hits = np.diagonal(matrices, axis1=-2, axis2=-1)
    support = matrices.sum(axis=-1) + matrices.sum(axis=-2)
    return np.divide(  # type: ignore[no-any-return]
        2 * hits, support, out=np.zeros(hits.shape), where=support > 0
    )


def bootstrap_interval(
    y_true: Labels,
    y_pred: Labels,
    num_classes: int,
    samples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of macro F1 over resamples of the samples.

    Resampling N (label, prediction) pairs with replacement only changes how often
    each cell of the confusion matrix occurs, and those cell counts follow a
    multinomial distribution with the observed cell frequencies. The resampled
    confusion matrices are therefore drawn directly, all at once, which is exact
    and independent of N in cost.

    Args:
        y_true: True class indices, shape (N,).
        y_pred: Predicted class indices, shape (N,).
        num_classes: Number of classes; all count in the macro mean.
        samples: Number of bootstrap resamples.
        seed: Seed of the resampling; the same seed gives the same interval.
        level: Coverage of the interval, in (0, 1).

    Returns:
        The lower and upper bounds of the interval.

    Raises:
        ValueError: If the inputs are invalid, ``samples`` is below 1 or ``level``
            is outside (0, 1).
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    true, pred = _check_pair(y_true, y_pred, num_classes)
    cells = np.bincount(true * num_classes + pred, minlength=num_classes**2)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(true), cells / len(true), size=samples)
    matrices = counts.reshape(samples, num_classes, num_classes)
    macro = _f1_of_matrices(matrices).mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(macro, [tail, 1.0 - tail])
    return float(low), float(high)
