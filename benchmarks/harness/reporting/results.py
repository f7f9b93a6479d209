"""Results of a benchmark run: ``results.json``, a Markdown summary and safe writes.

``results.json`` holds ``{"runs": [...], "config": {...}, "environment": {...}}``:
one run per (method, seed, protocol) with the fields of :data:`RUN_FIELDS` (more are
allowed), the resolved configuration and the software and hardware it ran on.
"""

import contextlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

import lightly_byel
from harness.atomic_files import write_text_atomic

PROTOCOL_ORDER = ("linear", "finetune")
"""Protocols in reporting order; others follow in order of appearance."""

PROTOCOL_TITLES = {
    "linear": "Linear probe (frozen encoder)",
    "finetune": "Fine-tuning (encoder + Dropout + Linear)",
}


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _is_number_or_none(value: object) -> bool:
    return value is None or _is_number(value)


def _is_interval(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(map(_is_number, value))
        and value[0] <= value[1]
    )


def _is_scores(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and _is_number(score) for name, score in value.items()
    )


def _is_matrix(value: object) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(row, list) and len(row) == len(value) for row in value)
        and all(
            isinstance(count, int) and not isinstance(count, bool) and count >= 0
            for row in value
            for count in row
        )
    )


RUN_FIELDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "method": (lambda value: isinstance(value, str) and bool(value), "a method name"),
    "seed": (
        lambda value: isinstance(value, int) and not isinstance(value, bool),
        "an integer",
    ),
    "protocol": (lambda value: isinstance(value, str) and bool(value), "a protocol"),
    "macro_f1": (_is_number, "a finite number"),
    "accuracy": (_is_number, "a finite number"),
    "per_class_f1": (_is_scores, "an object of class name to number"),
    "macro_f1_ci95": (_is_interval, "a list [low, high] of numbers"),
    "holdout_macro_f1": (_is_number_or_none, "a finite number or null"),
    "confusion_matrix": (_is_matrix, "a square list of lists of counts"),
    "selection": (lambda value: isinstance(value, str), "a string"),
    "train_seconds": (_is_number, "a finite number"),
    "images_per_second": (_is_number, "a finite number"),
    "pretrain_seconds": (_is_number_or_none, "a finite number or null"),
    "pretrain_images_per_second": (_is_number_or_none, "a finite number or null"),
}
"""Fields every run has, with a check of each value and what the check expects.

The pretraining fields are ``null`` for a method without pretraining;
``holdout_macro_f1`` (the same protocol's macro F1 on the held-out synthetic images)
is ``null`` for a run without a holdout split.
"""


def validate_results(results: object, source: str = "results") -> None:
    """Checks the structure of a results object.

    Args:
        results: The object, as read from JSON.
        source: What to name in error messages (a file name).

    Raises:
        ValueError: Naming the first field that is missing or has a wrong value.
    """
    if not isinstance(results, dict):
        raise ValueError(f"{source}: expected an object, got {type(results).__name__}")
    for key, kind, name in (
        ("runs", list, "list"),
        ("config", dict, "object"),
        ("environment", dict, "object"),
    ):
        if not isinstance(results.get(key), kind):
            raise ValueError(f"{source}: {key!r} must be a JSON {name}")
    for index, run in enumerate(results["runs"]):
        where = f"{source}: runs[{index}]"
        if not isinstance(run, dict):
            raise ValueError(f"{where} must be an object, got {type(run).__name__}")
        for field, (check, expected) in RUN_FIELDS.items():
            if field not in run:
                raise ValueError(f"{where} lacks {field!r}")
            if not check(run[field]):
                raise ValueError(
                    f"{where}: {field!r} must be {expected}, got {run[field]!r}"
                )


def write_results_json(
    path: Path,
    runs: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    environment: Mapping[str, Any],
    failures: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Writes ``{"runs", "config", "environment", "failed_units"}`` atomically.

    ``failed_units`` lists the units that stopped with an error (method, seed,
    error, time).

    Raises:
        ValueError: If a run lacks a field of :data:`RUN_FIELDS` or has a wrong
            value; nothing is written then.
    """
    results = {
        "runs": [dict(run) for run in runs],
        "config": dict(config),
        "environment": dict(environment),
        "failed_units": [dict(failure) for failure in failures],
    }
    validate_results(results, str(path))
    write_text_atomic(path, json.dumps(results, indent=2, allow_nan=False) + "\n")


def read_results_json(path: Path) -> dict[str, Any]:
    """Reads and checks a file written by :func:`write_results_json`.

    Raises:
        ValueError: If the file is not JSON or does not have the expected fields.
    """
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    validate_results(results, str(path))
    checked: dict[str, Any] = results
    return checked


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def environment_info(device_description: str) -> dict[str, Any]:
    """Describes the software and hardware of a run.

    Versions are those of the installed distributions (``None`` for one that is not
    installed, such as the optional timm).

    Args:
        device_description: The device the run trained on, in words.
    """
    cuda = torch.cuda.is_available()
    cudnn = torch.backends.cudnn.version() if cuda else None  # type: ignore[no-untyped-call]  # unannotated in torch
    return {
        "device": device_description,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "lightly": _version("lightly"),
        "lightly_byel": lightly_byel.__version__,
        "pytorch_lightning": _version("pytorch-lightning"),
        "timm": _version("timm"),
        "sklearn": _version("scikit-learn"),
        "numpy": _version("numpy"),
        "matplotlib": _version("matplotlib"),
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "gpus": [
            torch.cuda.get_device_name(index)
            for index in range(torch.cuda.device_count())
        ]
        if cuda
        else [],
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
    }


def group_runs(
    runs: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, list[Mapping[str, Any]]]]:
    """Groups runs by protocol, then method (one entry per seed).

    Protocols come in :data:`PROTOCOL_ORDER`, then in order of appearance; methods
    in order of appearance.
    """
    groups: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for run in runs:
        groups.setdefault(run["protocol"], {}).setdefault(run["method"], []).append(run)
    order = [p for p in PROTOCOL_ORDER if p in groups]
    order += [p for p in groups if p not in PROTOCOL_ORDER]
    return {protocol: groups[protocol] for protocol in order}


def mean_std(values: Sequence[float], digits: int) -> str:
    """Formats the mean ± sample standard deviation (``± n/a`` for one value)."""
    mean = statistics.fmean(values)
    spread = f"{statistics.stdev(values):.{digits}f}" if len(values) > 1 else "n/a"
    return f"{mean:.{digits}f} ± {spread}"


def _selection_summary(selections: Sequence[str]) -> str:
    """Folds "holdout macro F1, epoch k" strings into one rule with its epochs."""
    rules: dict[str, list[str]] = {}
    for selection in selections:
        rule, _, epoch = selection.partition(", epoch ")
        epochs = rules.setdefault(rule if epoch else selection, [])
        if epoch:
            epochs.append(epoch)
    return "; ".join(
        f"{rule} (epochs {', '.join(epochs)})" if epochs else rule
        for rule, epochs in rules.items()
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: str
) -> list[str]:
    """A Markdown table; ``align`` has an ``l`` or ``r`` per column."""
    rule = [":---" if side == "l" else "---:" for side in align]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rule) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def results_markdown(
    runs: Sequence[Mapping[str, Any]], class_names: Sequence[str], context: str = ""
) -> str:
    """Summarises runs as Markdown: per protocol, a score table and a per-class table.

    Each method is one row. Scores are the mean ± standard deviation over seeds of
    the eval split's macro F1 and accuracy; the 95% interval is the mean over seeds
    of the bootstrap interval bounds (uncertainty from the eval sample, while the
    standard deviation is that from training seeds).

    Args:
        runs: Runs with the fields of :data:`RUN_FIELDS`.
        class_names: Classes for the per-class table, in label order.
        context: A paragraph on the data and settings, placed after the intro.

    Returns:
        The Markdown text, ending in a newline.
    """
    if not runs:
        return "# Results\n\nNo runs yet.\n"
    lines = ["# Results", ""]
    lines.append(
        "Macro F1 (the ABAW metric), accuracy and per-class F1 on the eval split: "
        "mean ± standard deviation over seeds. The 95% interval is the bootstrap "
        "interval over eval images, averaged over seeds. *Holdout* is the macro F1 "
        "on the held-out synthetic images (in-domain, the split that selects the "
        "epoch); the difference to the eval split's is the domain gap. Training "
        "used synthetic labels only; the column *selection* says how the epoch was "
        "chosen."
    )
    if context:
        lines += ["", context]
    for protocol, methods in group_runs(runs).items():
        title = PROTOCOL_TITLES.get(protocol, protocol)
        rows = []
        for method, method_runs in methods.items():
            low = statistics.fmean(run["macro_f1_ci95"][0] for run in method_runs)
            high = statistics.fmean(run["macro_f1_ci95"][1] for run in method_runs)
            holdout = [run["holdout_macro_f1"] for run in method_runs]
            rows.append(
                [
                    method,
                    mean_std([run["macro_f1"] for run in method_runs], 4),
                    f"[{low:.4f}, {high:.4f}]",
                    "n/a" if None in holdout else mean_std(holdout, 4),
                    mean_std([run["accuracy"] for run in method_runs], 4),
                    str(len(method_runs)),
                    _selection_summary([run["selection"] for run in method_runs]),
                ]
            )
        lines += ["", f"## {title}", ""]
        lines += _table(
            [
                "method",
                "macro F1",
                "95% interval",
                "holdout macro F1",
                "accuracy",
                "seeds",
                "selection",
            ],
            rows,
            "lrrrrrl",
        )
        per_class = []
        for method, method_runs in methods.items():
            row = [method]
            for name in class_names:
                scores = [run["per_class_f1"].get(name) for run in method_runs]
                if None in scores:
                    raise ValueError(f"a {method} run has no F1 for class {name!r}")
                row.append(mean_std(scores, 3))
            per_class.append(row)
        lines += ["", f"Per-class F1, {title}:", ""]
        lines += _table(
            ["method", *class_names], per_class, "l" + "r" * len(class_names)
        )
    return "\n".join(lines) + "\n"
