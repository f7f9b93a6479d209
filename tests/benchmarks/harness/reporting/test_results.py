import json
import math
from pathlib import Path
from typing import Any

import pytest
from harness.reporting.records import RunRecord
from harness.reporting.results import (
    environment_info,
    read_results_json,
    write_results_json,
)

from lightly_byel.utils.atomic_files import write_text_atomic


def run(
    method: str,
    seed: int,
    protocol: str,
    macro_f1: float,
    holdout: float | None = None,
) -> dict[str, Any]:
    return {
        "method": method,
        "seed": seed,
        "protocol": protocol,
        "macro_f1": macro_f1,
        "accuracy": macro_f1 + 0.1,
        "per_class_f1": {"ANGER": macro_f1 - 0.1, "HAPPINESS": macro_f1 + 0.1},
        "macro_f1_ci95": [macro_f1 - 0.05, macro_f1 + 0.05],
        "holdout_macro_f1": holdout,
        "confusion_matrix": [[3, 1], [2, 4]],
        "selection": f"holdout macro F1, epoch {seed + 1}",
        "train_seconds": 2.5,
        "images_per_second": 40.0,
        "pretrain_seconds": 10.0,
        "pretrain_images_per_second": None,
        "knn_holdout_macro_f1": 0.5,
        "embedding_std": 0.05,
        "embedding_spread": 0.8,
        "model": f"models/{method}-seed{seed}-{protocol}.pt",
    }


RUNS = [
    run("byel", 0, "finetune", 0.3, holdout=0.8),
    run("byel", 1, "finetune", 0.4, holdout=0.9),
    run("byol", 0, "finetune", 0.2),
    run("byel", 0, "linear", 0.25, holdout=0.5),
]
RECORDS = [RunRecord(**values) for values in RUNS]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.json"
    environment = environment_info("cpu")
    data = {"train": "t", "eval": "e", "generator": None}
    write_results_json(path, RECORDS, {"epochs": 1}, environment, data=data)
    results = read_results_json(path)
    assert results == {
        "runs": RUNS,
        "data": data,
        "config": {"epochs": 1},
        "environment": environment,
        "failed_units": [],
    }
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_environment_names_the_versions() -> None:
    environment = environment_info("one test CPU")
    assert environment["device"] == "one test CPU"
    for key in ("python", "torch", "torchvision", "lightly", "lightly_byel"):
        assert isinstance(environment[key], str)
    assert {"pytorch_lightning", "timm", "sklearn", "cuda", "cpu_count"} <= set(
        environment
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"macro_f1": None}, r"runs\[0\]: 'macro_f1' must be a finite number"),
        ({"macro_f1": math.nan}, "'macro_f1' must be a finite number"),
        ({"macro_f1_ci95": [0.5, 0.1]}, "'macro_f1_ci95' must not decrease"),
        ({"macro_f1_ci95": [0.5]}, "'macro_f1_ci95' must have 2 elements"),
        ({"macro_f1_ci95": "0.5"}, "'macro_f1_ci95' must be a list"),
        ({"confusion_matrix": [[1, 2]]}, "'confusion_matrix' must be square"),
        ({"confusion_matrix": [[-1]]}, "'confusion_matrix' must be at least 0"),
        ({"seed": True}, "'seed' must be a whole number"),
        ({"method": ""}, "'method' must not be empty"),
        ({"model": "weights.pt"}, "'model' must start with 'models/'"),
        ({"per_class_f1": {"ANGER": "high"}}, r"'per_class_f1'\['ANGER'\] must be a"),
        ({"holdout_macro_f1": "0.8"}, "'holdout_macro_f1' must be a finite number"),
        (
            {"other_eval_sets": {"fer": {"macro_f1": 0.5}}},
            r"'other_eval_sets'\['fer'\] lacks 'macro_f1_ci95'",
        ),
    ],
)
def test_schema_errors_name_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(
        json.dumps({"runs": [{**RUNS[0], **change}], "config": {}, "environment": {}})
    )
    with pytest.raises(ValueError, match=message):
        read_results_json(path)
    assert RunRecord.from_json(RUNS[0]) == RECORDS[0]


def test_non_finite_numbers_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    broken = RunRecord(**{**RUNS[0], "train_seconds": math.inf})
    with pytest.raises(ValueError, match="'train_seconds' must be a finite number"):
        write_results_json(path, [broken], {}, {})
    assert not path.exists()


def test_reading_rejects_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_results_json(path)
    path.write_text(json.dumps({"runs": [], "config": {}}))
    with pytest.raises(ValueError, match="'environment' must be a JSON object"):
        read_results_json(path)
    incomplete = dict(RUNS[0])
    del incomplete["selection"]
    path.write_text(json.dumps({"runs": [incomplete], "config": {}, "environment": {}}))
    with pytest.raises(ValueError, match=r"runs\[0\] lacks 'selection'"):
        read_results_json(path)


def test_write_text_atomic_replaces(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    write_text_atomic(path, "first")
    write_text_atomic(path, "second ±")
    assert path.read_text(encoding="utf-8") == "second ±"
    assert list(tmp_path.iterdir()) == [path]
