"""Scores an evaluated encoder and head on the run's further evaluation sets.

The main evaluation set is scored inside each protocol. The others
(:mod:`harness.data.eval_sets`) are scored afterwards with the very encoder and head
the protocol chose, so every set's figure comes from one model, the one saved as
the unit's model file.
"""

import copy
from dataclasses import dataclass

from torch import nn

from harness.config.declared import setting
from harness.evaluation.context import EvalContext
from harness.evaluation.features import extract_features, module_device
from harness.evaluation.outcome import EvalOutcome
from lightly_byel.utils.metrics import bootstrap_interval, classification_metrics


@dataclass(frozen=True)
class SetScores:
    """The scores of one encoder and head on one further evaluation set."""

    macro_f1: float = setting(help="macro F1")
    macro_f1_ci95: list[float] = setting(
        help="bootstrap 95% interval [low, high]", length=2, ordered=True
    )
    accuracy: float = setting(help="accuracy")
    per_class_f1: dict[str, float] = setting(help="F1 by class name")
    images: int = setting(help="images scored", minimum=0)


def score_other_sets(
    context: EvalContext, outcome: EvalOutcome
) -> dict[str, SetScores]:
    """Macro F1, its bootstrap interval, accuracy and per-class F1 on each other set.

    Args:
        context: The unit's evaluation context.
        outcome: A protocol's outcome, with the encoder and head it scored with.

    Returns:
        The scores by set name; empty when the run has no other set or the
        protocol kept no encoder and head.
    """
    splits = context.pipeline.splits
    if not splits.other_evals or outcome.encoder is None or outcome.head is None:
        return {}
    device = module_device(outcome.encoder)
    network = nn.Sequential(
        context.pipeline.encoder(outcome.encoder), copy.deepcopy(outcome.head)
    )
    settings = context.config.evaluation
    scores: dict[str, SetScores] = {}
    for name, dataset in splits.other_evals.items():
        batches = context.batches(context.pipeline.plain(name))
        logits, labels = extract_features(network, batches, device)
        y_true, y_pred = labels.tolist(), logits.argmax(dim=1).tolist()
        metrics = classification_metrics(y_true, y_pred, dataset.classes)
        low, high = bootstrap_interval(
            y_true,
            y_pred,
            len(dataset.classes),
            settings.bootstrap_samples,
            context.seed,
        )
        scores[name] = SetScores(
            macro_f1=metrics["macro_f1"],
            macro_f1_ci95=[low, high],
            accuracy=metrics["accuracy"],
            per_class_f1=metrics["per_class_f1"],
            images=len(y_true),
        )
    return scores
