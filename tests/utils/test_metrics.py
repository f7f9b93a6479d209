import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from lightly_byel.utils.metrics import bootstrap_interval, classification_metrics

NAMES = ["a", "b", "c", "d"]
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 2, 0]


def test_metrics_by_hand() -> None:
    scores = classification_metrics(Y_TRUE, Y_PRED, NAMES)
    # Per class: 2 * hits / (true + predicted); "d" occurs nowhere and counts 0.
    per_class = {"a": 2 / 4, "b": 4 / 5, "c": 2 / 3, "d": 0.0}
    assert scores["per_class_f1"] == pytest.approx(per_class)
    assert scores["macro_f1"] == pytest.approx(sum(per_class.values()) / 4)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["confusion_matrix"] == [
        [1, 1, 0, 0],
        [0, 2, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 0],
    ]


def test_metrics_agree_with_sklearn() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 6, size=200)
    y_pred = np.where(rng.random(200) < 0.5, y_true, rng.integers(0, 6, size=200))
    scores = classification_metrics(torch.from_numpy(y_true), y_pred, list("abcdef"))
    assert scores["macro_f1"] == pytest.approx(
        f1_score(y_true, y_pred, average="macro")
    )
    assert sum(map(sum, scores["confusion_matrix"])) == 200
    assert isinstance(scores["macro_f1"], float)


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [
        ([0, 1], [0], "differ in length"),
        ([0, 4], [0, 1], "outside"),
        ([0, -1], [0, 1], "outside"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-D"),
        ([0.0, 1.0], [0, 1], "integer"),
    ],
)
def test_metrics_reject_bad_labels(
    y_true: list[int], y_pred: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        classification_metrics(y_true, y_pred, NAMES)


def _data(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, size=size)
    y_pred = np.where(rng.random(size) < 0.6, y_true, rng.integers(0, 6, size=size))
    return y_true, y_pred


def test_bootstrap_is_deterministic_and_contains_the_estimate() -> None:
    y_true, y_pred = _data(300)
    low, high = bootstrap_interval(y_true, y_pred, 6, samples=500, seed=1)
    assert bootstrap_interval(y_true, y_pred, 6, samples=500, seed=1) == (low, high)
    assert bootstrap_interval(y_true, y_pred, 6, samples=500, seed=2) != (low, high)
    estimate = classification_metrics(y_true, y_pred, list("abcdef"))["macro_f1"]
    assert low < estimate < high
    narrow = bootstrap_interval(y_true, y_pred, 6, samples=500, seed=1, level=0.5)
    assert low < narrow[0] < narrow[1] < high


def test_bootstrap_matches_resampling_the_samples() -> None:
    y_true, y_pred = _data(300)
    rng = np.random.default_rng(0)
    scores = []
    for _ in range(2000):
        # Resamples the pairs themselves, as the textbook bootstrap does.
        index = rng.integers(0, 300, size=300)
        true, pred = y_true[index], y_pred[index]
        hits = np.bincount(true[true == pred], minlength=6)
        support = np.bincount(true, minlength=6) + np.bincount(pred, minlength=6)
        scores.append(np.mean(2 * hits / np.maximum(support, 1)))
    expected = np.quantile(scores, [0.025, 0.975])
    interval = bootstrap_interval(y_true, y_pred, 6, samples=2000)
    assert interval == pytest.approx(tuple(expected), abs=0.015)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"samples": 0}, "samples"), ({"level": 1.0}, "level"), ({"level": 0.0}, "level")],
)
def test_bootstrap_rejects_bad_arguments(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        bootstrap_interval([0, 1], [0, 1], 2, **kwargs)  # type: ignore[arg-type]
