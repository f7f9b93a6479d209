import json
import math
from pathlib import Path
from typing import Any

import pytest
from harness.reporting.results import (
    environment_info,
    read_results_json,
    results_markdown,
    write_results_json,
    write_text_atomic,
)

CLASSES = ["ANGER", "HAPPINESS"]


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
    }


RUNS = [
    run("byel", 0, "finetune", 0.3, holdout=0.8),
    run("byel", 1, "finetune", 0.4, holdout=0.9),
    run("byol", 0, "finetune", 0.2),
    run("byel", 0, "linear", 0.25, holdout=0.5),
]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.json"
    environment = environment_info("cpu")
    write_results_json(path, RUNS, {"epochs": 1}, environment)
    results = read_results_json(path)
    assert results == {
        "runs": RUNS,
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
        ({"macro_f1_ci95": [0.5, 0.1]}, "'macro_f1_ci95' must be a list"),
        ({"confusion_matrix": [[1, 2]]}, "'confusion_matrix' must be a square"),
        ({"seed": True}, "'seed' must be an integer"),
        ({"per_class_f1": {"ANGER": "high"}}, "'per_class_f1'"),
        ({"holdout_macro_f1": "0.8"}, "'holdout_macro_f1' must be a finite number or"),
    ],
)
def test_schema_errors_name_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    path = tmp_path / "results.json"
    with pytest.raises(ValueError, match=message):
        write_results_json(path, [{**RUNS[0], **change}], {}, {})
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


def test_markdown_tables() -> None:
    text = results_markdown(RUNS, CLASSES)
    linear = text.index("## Linear probe")
    finetune = text.index("## Fine-tuning")
    assert linear < finetune
    # byel fine-tuned with two seeds: mean 0.35, sample std 0.0707; its holdout
    # (in-domain) score sits beside the eval split's.
    assert (
        "| byel | 0.3500 ± 0.0707 | [0.3000, 0.4000] | 0.8500 ± 0.0707 | "
        "0.4500 ± 0.0707 | 2 | holdout macro F1 (epochs 1, 2) |"
    ) in text
    # A run without a holdout split has no in-domain score.
    assert "| byol | 0.2000 ± n/a | [0.1500, 0.2500] | n/a | 0.3000 ± n/a |" in text
    assert "| method | ANGER | HAPPINESS |" in text
    assert "| byel | 0.250 ± 0.071 | 0.450 ± 0.071 |" in text
    assert text.endswith("|\n")


def test_markdown_without_runs() -> None:
    assert "No runs" in results_markdown([], CLASSES)


def test_write_text_atomic_replaces(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    write_text_atomic(path, "first")
    write_text_atomic(path, "second ±")
    assert path.read_text(encoding="utf-8") == "second ±"
    assert list(tmp_path.iterdir()) == [path]
