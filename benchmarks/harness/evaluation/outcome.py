"""What one evaluation of an encoder (linear probe or fine-tuning) produced."""

from dataclasses import dataclass

from torch import nn

from harness.evaluation.metrics import ClassificationMetrics


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
        head: The linear probe's classifier on the encoder's raw features (on the
            CPU), from which fine-tuning can start; ``None`` for fine-tuning.
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
    head: nn.Linear | None = None


FIXED_SCHEDULE = "fixed schedule, last epoch"
"""Selection when there is no holdout split: the last epoch of the schedule."""


def holdout_selection(epoch: int) -> str:
    """Describes an epoch (1-based) chosen by holdout macro F1."""
    return f"holdout macro F1, epoch {epoch}"
