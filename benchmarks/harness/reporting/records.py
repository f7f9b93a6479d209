"""The run record: the result of one method, seed and protocol.

One :class:`RunRecord` per evaluated unit and protocol is what a run produces:
``units/<unit>.json``, ``results.json``, ``results.md`` and the plots are all
written from records. Every field is declared once
(:func:`~harness.config.declared.setting`); its type and bounds are what
:meth:`RunRecord.from_json` checks when a file is read back.
"""

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.config.declared import from_mapping, setting
from harness.evaluation.other_sets import SetScores
from harness.evaluation.outcome import EvalOutcome


@dataclass(frozen=True)
class RunRecord:
    """The scores of one evaluated encoder, and what its training took.

    Attributes:
        method: The pretraining method.
        seed: The unit's seed.
        protocol: The evaluation protocol (``linear``, ``finetune``, ...).
        macro_f1: Macro F1 on the eval split (the ABAW metric).
        accuracy: Accuracy on the eval split.
        per_class_f1: F1 of every class on the eval split.
        macro_f1_ci95: Bootstrap 95% interval ``[low, high]`` of ``macro_f1``.
        holdout_macro_f1: The same protocol's macro F1 on the held-out synthetic
            images (in-domain); ``None`` without a holdout split.
        confusion_matrix: Eval counts, true classes as rows.
        selection: How the evaluation's epoch was chosen.
        train_seconds: Seconds the evaluation trained.
        images_per_second: Training images per second of the evaluation.
        pretrain_seconds: Seconds of pretraining over all attempts; ``None`` for a
            method that does not pretrain.
        pretrain_images_per_second: Pretraining images per second; ``None`` as
            above.
        knn_holdout_macro_f1: The pretraining monitor's last online k-NN macro F1
            on the held-out synthetic images
            (:mod:`harness.evaluation.monitoring`); ``None`` without pretraining, a
            holdout split or monitoring.
        embedding_std: The monitor's last standard deviation of the
            l2-normalised holdout embeddings; ``None`` as above.
        embedding_spread: ``embedding_std * sqrt(dim)``: about 1 when the
            embeddings are spread, near 0 when they collapse; ``None`` as above.
        model: The evaluated encoder and head as a model file, relative to the
            results folder (``models/<method>-seed<k>-<protocol>.pt``, see
            :class:`~lightly_byel.models.emotion_model.EmotionModel`); ``None`` if
            not saved.
        other_eval_sets: The same encoder and head scored on the run's further
            evaluation sets, by name (:mod:`harness.data.eval_sets`): ``macro_f1``,
            ``macro_f1_ci95``, ``accuracy``, ``per_class_f1``, ``images``; empty
            with one set, and then left out of the JSON.
    """

    method: str = setting(help="a method name", minimum=1)
    seed: int = setting(help="the unit's seed")
    protocol: str = setting(help="a protocol", minimum=1)
    macro_f1: float = setting(help="macro F1 on the eval split")
    accuracy: float = setting(help="accuracy on the eval split")
    per_class_f1: dict[str, float] = setting(help="F1 by class name")
    macro_f1_ci95: list[float] = setting(
        help="bootstrap 95% interval [low, high]", length=2, ordered=True
    )
    holdout_macro_f1: float | None = setting(help="holdout macro F1")
    confusion_matrix: list[list[int]] = setting(
        help="counts, true classes as rows", minimum=0, square=True
    )
    selection: str = setting(help="how the epoch was chosen")
    train_seconds: float = setting(help="seconds the evaluation trained")
    images_per_second: float = setting(help="training images per second")
    pretrain_seconds: float | None = setting(help="seconds of pretraining")
    pretrain_images_per_second: float | None = setting(
        help="pretraining images per second"
    )
    knn_holdout_macro_f1: float | None = setting(None, "the monitor's k-NN macro F1")
    embedding_std: float | None = setting(None, "the monitor's embedding std")
    embedding_spread: float | None = setting(None, "the monitor's embedding spread")
    model: str | None = setting(None, "the model file", prefix="models/")
    other_eval_sets: dict[str, SetScores] = setting(
        help="scores on the other evaluation sets", default_factory=dict
    )

    @classmethod
    def of(
        cls,
        method: str,
        seed: int,
        outcome: EvalOutcome,
        pretrain_seconds: float | None = None,
        pretrain_images: int = 0,
        model: str | None = None,
        monitored: Mapping[str, float] | None = None,
        other_eval_sets: Mapping[str, SetScores] | None = None,
    ) -> "RunRecord":
        """The record of one evaluation of a unit's encoder.

        ``monitored`` holds the pretraining monitor's last values, if any;
        ``other_eval_sets`` the scores on further evaluation sets.
        """
        last = monitored or {}
        metrics = outcome.metrics
        return cls(
            method=method,
            seed=seed,
            protocol=outcome.protocol,
            macro_f1=metrics["macro_f1"],
            accuracy=metrics["accuracy"],
            per_class_f1=metrics["per_class_f1"],
            macro_f1_ci95=list(outcome.macro_f1_interval),
            holdout_macro_f1=outcome.holdout_macro_f1,
            confusion_matrix=metrics["confusion_matrix"],
            selection=outcome.selection,
            train_seconds=outcome.train_seconds,
            images_per_second=outcome.images_per_second,
            pretrain_seconds=pretrain_seconds,
            pretrain_images_per_second=pretrain_images / pretrain_seconds
            if pretrain_seconds
            else None,
            knn_holdout_macro_f1=last.get("knn_holdout_macro_f1"),
            embedding_std=last.get("embedding_std"),
            embedding_spread=last.get("embedding_spread"),
            model=model,
            other_eval_sets=dict(other_eval_sets or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object; without ``other_eval_sets`` when empty."""
        record = asdict(self)
        if not record["other_eval_sets"]:
            del record["other_eval_sets"]
        return record

    @classmethod
    def from_json(cls, value: object, where: str = "record") -> "RunRecord":
        """Reads a record back, checking every field against its declaration.

        Raises:
            ValueError: Naming the first field that is missing or wrong.
        """
        return from_mapping(cls, value, where)


def group_runs(
    runs: Iterable[RunRecord], order: Sequence[str] = ()
) -> dict[str, dict[str, list[RunRecord]]]:
    """Groups records by protocol, then method (one entry per seed).

    Protocols come in ``order``, then in order of appearance; methods in order of
    appearance.
    """
    groups: dict[str, dict[str, list[RunRecord]]] = {}
    for run in runs:
        groups.setdefault(run.protocol, {}).setdefault(run.method, []).append(run)
    ordered = [p for p in order if p in groups] + [p for p in groups if p not in order]
    return {protocol: groups[protocol] for protocol in ordered}


def mean_std(values: Sequence[float], digits: int) -> str:
    """Formats the mean ± sample standard deviation (``± n/a`` for one value).

    Examples:
        >>> mean_std([0.5, 0.7], 2), mean_std([0.5], 1)
        ('0.60 ± 0.14', '0.5 ± n/a')
    """
    mean = statistics.fmean(values)
    spread = f"{statistics.stdev(values):.{digits}f}" if len(values) > 1 else "n/a"
    return f"{mean:.{digits}f} ± {spread}"
