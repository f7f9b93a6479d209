"""The run record: the result of one method, seed and protocol.

One :class:`RunRecord` per evaluated unit and protocol is what a run produces:
``units/<unit>.json``, ``results.json``, ``results.md`` and the plots are all
written from records, and :meth:`RunRecord.from_json` checks every field when a file
is read back.
"""

import dataclasses
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from harness.evaluation.outcome import EvalOutcome


def _number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _interval(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(map(_number, value))
        and value[0] <= value[1]
    )


def _counts(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(row, list)
        and len(row) == len(value)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in row)
        for row in value
    )


def _set_scores(value: object) -> bool:
    return (
        isinstance(value, dict)
        and _number(value.get("macro_f1"))
        and _number(value.get("accuracy"))
        and _interval(value.get("macro_f1_ci95"))
        and isinstance(value.get("per_class_f1"), dict)
        and all(map(_number, value["per_class_f1"].values()))
        and isinstance(value.get("images"), int)
    )


_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "method": (lambda v: isinstance(v, str) and bool(v), "a method name"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "protocol": (lambda v: isinstance(v, str) and bool(v), "a protocol"),
    "macro_f1": (_number, "a finite number"),
    "accuracy": (_number, "a finite number"),
    "per_class_f1": (
        lambda v: (
            isinstance(v, dict)
            and all(isinstance(k, str) and _number(s) for k, s in v.items())
        ),
        "an object of class name to number",
    ),
    "macro_f1_ci95": (_interval, "a list [low, high] of numbers"),
    "holdout_macro_f1": (lambda v: v is None or _number(v), "a finite number or null"),
    "confusion_matrix": (_counts, "a square list of lists of counts"),
    "selection": (lambda v: isinstance(v, str), "a string"),
    "train_seconds": (_number, "a finite number"),
    "images_per_second": (_number, "a finite number"),
    "pretrain_seconds": (lambda v: v is None or _number(v), "a finite number or null"),
    "pretrain_images_per_second": (
        lambda v: v is None or _number(v),
        "a finite number or null",
    ),
    "knn_holdout_macro_f1": (
        lambda v: v is None or _number(v),
        "a finite number or null",
    ),
    "embedding_std": (lambda v: v is None or _number(v), "a finite number or null"),
    "embedding_spread": (
        lambda v: v is None or _number(v),
        "a finite number or null",
    ),
    "model": (
        lambda v: v is None or (isinstance(v, str) and v.startswith("models/")),
        "a path models/<file> or null",
    ),
    "other_eval_sets": (
        lambda v: isinstance(v, dict) and all(map(_set_scores, v.values())),
        "an object of set name to macro_f1, macro_f1_ci95, accuracy, "
        "per_class_f1 and images",
    ),
}

_OPTIONAL = frozenset({"other_eval_sets"})
"""Fields a record may leave out: those of runs with one evaluation set."""


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
            on the held-out synthetic images (:mod:`harness.monitoring`); ``None``
            without pretraining, a holdout split or monitoring.
        embedding_std: The monitor's last standard deviation of the
            l2-normalised holdout embeddings; ``None`` as above.
        embedding_spread: ``embedding_std * sqrt(dim)``: about 1 when the
            embeddings are spread, near 0 when they collapse; ``None`` as above.
        model: The evaluated encoder and head as a model file, relative to the
            results folder (``models/<method>-seed<k>-<protocol>.pt``, see
            :class:`~lightly_byel.models.emotion_model.EmotionModel`); ``None`` if
            not saved.
        other_eval_sets: The same encoder and head scored on the run's further
            evaluation sets, by name (:mod:`harness.eval_sets`): ``macro_f1``,
            ``macro_f1_ci95``, ``accuracy``, ``per_class_f1``, ``images``; empty
            with one set, and then left out of the JSON.
    """

    method: str
    seed: int
    protocol: str
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    macro_f1_ci95: list[float]
    holdout_macro_f1: float | None
    confusion_matrix: list[list[int]]
    selection: str
    train_seconds: float
    images_per_second: float
    pretrain_seconds: float | None
    pretrain_images_per_second: float | None
    knn_holdout_macro_f1: float | None = None
    embedding_std: float | None = None
    embedding_spread: float | None = None
    model: str | None = None
    other_eval_sets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

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
        other_eval_sets: Mapping[str, dict[str, Any]] | None = None,
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
        """Reads a record back, checking every field.

        Raises:
            ValueError: Naming the first field that is missing or wrong.
        """
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} must be an object, got {type(value).__name__}")
        for field in fields(cls):
            check, expected = _CHECKS[field.name]
            if field.name not in value:
                if field.name in _OPTIONAL:
                    continue
                raise ValueError(f"{where} lacks {field.name!r}")
            if not check(value[field.name]):
                raise ValueError(
                    f"{where}: {field.name!r} must be {expected}, got "
                    f"{value[field.name]!r}"
                )
        return cls(
            **{
                field.name: value[field.name]
                for field in fields(cls)
                if field.name in value
            }
        )


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
