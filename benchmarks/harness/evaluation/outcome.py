"""What one evaluation of an encoder (linear probe or fine-tuning) produced."""

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from harness.evaluation.features import images_per_second
from lightly_byel.utils.metrics import (
    ClassificationMetrics,
    bootstrap_interval,
    classification_metrics,
)


@dataclass(frozen=True)
class EvalOutcome:
    """Scores and predictions of one evaluation on the eval split.

    Attributes:
        protocol: The protocol's name in the registry (``linear``, ``finetune``).
        metrics: Macro F1, accuracy, per-class F1 and confusion matrix on the eval
            split.
        macro_f1_interval: Bootstrap 95% interval (low, high) of the macro F1.
        holdout_macro_f1: Macro F1 on the held-out synthetic images (in-domain) at
            the reported epoch, which these images selected; ``None`` without a
            holdout split. Beside the eval split's, it shows the domain gap.
        selection: How the reported epoch was chosen, never on the eval split:
            ``"holdout macro F1, epoch k"`` (1-based) or
            ``"fixed schedule, last epoch"``.
        train_seconds: Wall time of training, including the holdout evaluations
            that select the epoch (and, for the linear probe, extracting the
            features of the training and holdout splits).
        images_per_second: Training images passed through the encoder per second
            of ``train_seconds``: epochs x training images for fine-tuning, the
            training images once for the linear probe.
        y_true: True classes of the eval split.
        y_pred: Predicted classes of the eval split, in the same order.
        encoder: The evaluated encoder (the fine-tuned copy for fine-tuning), as
            the pipeline feeds it; ``None`` where the protocol keeps none.
        head: The classifier on the encoder's raw features (on the CPU) that
            predicted the eval split; the linear probe's is where fine-tuning can
            start from. Saved with ``encoder`` as the unit's model file.
    """

    protocol: str
    metrics: ClassificationMetrics
    macro_f1_interval: tuple[float, float]
    holdout_macro_f1: float | None
    selection: str
    train_seconds: float
    images_per_second: float
    y_true: list[int]
    y_pred: list[int]
    encoder: nn.Module | None = None
    head: nn.Linear | None = None


FIXED_SCHEDULE = "fixed schedule, last epoch"
"""Selection when there is no holdout split: the last epoch of the schedule."""


def holdout_selection(epoch: int) -> str:
    """Describes an epoch (1-based) chosen by holdout macro F1."""
    return f"holdout macro F1, epoch {epoch}"


def scored(
    protocol: str,
    y_true: list[int],
    y_pred: list[int],
    class_names: Sequence[str],
    bootstrap_samples: int,
    seed: int,
    holdout_macro_f1: float | None,
    epoch: int | None,
    train_seconds: float,
    images: int,
    encoder: nn.Module | None = None,
    head: nn.Linear | None = None,
) -> EvalOutcome:
    """The outcome of predictions on the eval split: metrics and their interval.

    Args:
        protocol: The protocol's name.
        y_true: True classes of the eval split.
        y_pred: Predicted classes, in the same order.
        class_names: Name of each class, in label order.
        bootstrap_samples: Resamples of the 95% interval of macro F1.
        seed: Seed of the bootstrap.
        holdout_macro_f1: The holdout macro F1 of the chosen epoch, or ``None``.
        epoch: The epoch the holdout chose (1-based), or ``None`` for the last one
            of a fixed schedule.
        train_seconds: Seconds of training.
        images: Training images passed through the encoder in that time.
        encoder: The evaluated encoder, if kept.
        head: Its classifier on raw features, if kept.

    Examples:
        >>> outcome = scored("linear", [0, 1], [0, 1], ["A", "B"], 10, 0, None,
        ...                  None, 2.0, 10)
        >>> outcome.metrics["macro_f1"], outcome.selection, outcome.images_per_second
        (1.0, 'fixed schedule, last epoch', 5.0)
    """
    return EvalOutcome(
        protocol=protocol,
        metrics=classification_metrics(y_true, y_pred, class_names),
        macro_f1_interval=bootstrap_interval(
            y_true, y_pred, len(class_names), bootstrap_samples, seed
        ),
        holdout_macro_f1=holdout_macro_f1,
        selection=FIXED_SCHEDULE if epoch is None else holdout_selection(epoch),
        train_seconds=train_seconds,
        images_per_second=images_per_second(images, train_seconds),
        y_true=y_true,
        y_pred=y_pred,
        encoder=encoder,
        head=head,
    )
