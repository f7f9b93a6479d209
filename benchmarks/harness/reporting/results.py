"""``results.json``: the run records, the configuration and the environment.

``results.json`` holds ``{"runs": [...], "data": {...}, "config": {...},
"environment": {...}, "failed_units": [...]}``: one
:class:`~harness.reporting.records.RunRecord` per (method, seed, protocol), the
folders and counts of the data, the resolved configuration, the software and
hardware it ran on, and the units that stopped with an error.
"""

import contextlib
import importlib.metadata
import json
import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

import lightly_byel
from harness.config.mapping_files import read_mapping
from harness.reporting.records import RunRecord
from lightly_byel.utils.atomic_files import write_text_atomic


def validate_results(results: object, source: str = "results") -> None:
    """Checks the structure of a results object and every run record in it.

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
        RunRecord.from_json(run, f"{source}: runs[{index}]")


def write_results_json(
    path: Path,
    runs: Sequence[RunRecord],
    config: Mapping[str, Any],
    environment: Mapping[str, Any],
    failures: Sequence[Mapping[str, Any]] = (),
    data: Mapping[str, Any] | None = None,
) -> None:
    """Writes ``{"runs", "data", "config", "environment", "failed_units"}`` atomically.

    ``data`` names the folders and counts the results were computed on
    (:meth:`~harness.data.splits.Splits.data_record`); ``failed_units`` lists the units
    that stopped with an error (method, seed, error, time).

    Raises:
        ValueError: If a value is not finite; nothing is written then.
    """
    results = {
        "runs": [run.to_json() for run in runs],
        "data": None if data is None else dict(data),
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
    results = read_mapping(path)
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
