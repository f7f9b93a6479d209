"""Checks of a configuration against this machine, before any data or training.

:func:`harness.runs.command_line.check` checks what the settings say;
:func:`preflight` checks what they need: an accelerator with the devices asked for,
a precision it supports, a backbone that builds with its ``--pretrained`` weights,
data folders that exist and an output folder that can be written and lies apart from
every input. Each failure is a ``ValueError`` or an ``OSError`` whose one-line
message names the setting, the value and what was expected.
"""

import os
from pathlib import Path

import torch

from harness.config.quoted import quoted
from harness.config.settings import BenchmarkConfig
from harness.data.splits import cache_root
from lightly_byel.data.face_detection import FaceDetector
from lightly_byel.models.backbones import build_backbone
from lightly_byel.utils.output_paths import check_outputs_apart, check_writable


def preflight(config: BenchmarkConfig, output: Path) -> None:
    """Checks that this machine can run ``config`` and write to ``output``.

    Raises:
        ValueError: If the hardware, precision or backbone settings cannot work, or
            ``--crop-faces`` has no face detector.
        OSError: If a data folder is missing or ``output`` cannot be written.
    """
    check_hardware(config)
    build_backbone(config.model.backbone, config.model.pretrained)
    check_data_paths(config)
    if config.data.crop_faces:
        try:
            FaceDetector()
        except ImportError as error:
            raise ValueError(f"--crop-faces: {error}") from None
    named = output if config.run.output is None else config.run.output
    check_outputs_apart({"--output": named}, _inputs(config))
    check_writable(output)


def device_count(devices: str) -> int | None:
    """The number of devices a ``--devices`` value asks for; ``None`` for ``auto``.

    Raises:
        ValueError: If it is neither ``auto``, a positive count nor a list of indices.

    Examples:
        >>> device_count("auto"), device_count("2"), device_count("0,3")
        (None, 2, 2)
    """
    text = devices.strip()
    if text == "auto":
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(
            f"--devices must be auto, a count or comma-separated device indices, got "
            f"{quoted(devices)}."
        )
    if "," in text:
        return len(parts)
    count = int(parts[0])
    if count < 1:
        raise ValueError(f"--devices must be at least 1, got {quoted(devices)}.")
    return count


def check_hardware(config: BenchmarkConfig) -> None:
    """Checks the accelerator, device count and precision against this machine.

    Raises:
        ValueError: Naming the setting, the value and what this machine has.
    """
    run = config.run
    wanted = device_count(run.devices)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    on_gpu = run.accelerator in ("gpu", "cuda") or (run.accelerator == "auto" and gpus)
    if on_gpu and not gpus:
        raise ValueError(
            f"--accelerator {run.accelerator} needs a CUDA GPU, and this machine has "
            "none; use --accelerator cpu."
        )
    available = gpus if on_gpu else os.cpu_count() or 1
    kind = "GPUs" if on_gpu else "CPU cores"
    if wanted is not None and wanted > available:
        raise ValueError(
            f"--devices {run.devices} asks for {wanted} devices, and this machine has "
            f"{available} {kind}."
        )
    if run.precision == "16-mixed" and not on_gpu:
        raise ValueError(
            "--precision 16-mixed needs a GPU; use bf16-mixed or 32-true on a CPU."
        )


def check_data_paths(config: BenchmarkConfig) -> None:
    """Checks that the data folders the settings name exist.

    Raises:
        FileNotFoundError: Naming the setting and the missing folder.
    """
    for flag, path in _data_paths(config).items():
        # The evaluation sets of some formats are files (a CSV, fer2013.csv).
        folder_only = not flag.startswith("--eval-dir")
        try:
            found = Path(path).is_dir() if folder_only else Path(path).exists()
        except OSError as error:  # a name the file system refuses (too long)
            raise FileNotFoundError(
                f"{flag} {quoted(path)} cannot be read ({error.strerror})."
            ) from None
        if not found:
            what = "a folder" if folder_only else "there"
            raise FileNotFoundError(f"{flag} {quoted(path)} is not {what}.")


def _data_paths(config: BenchmarkConfig) -> dict[str, str]:
    """The data paths the settings name, by flag (numbered where repeated)."""
    data = config.data
    named = {"--data-root": data.data_root, "--train-dir": data.train_dir}
    for flag, paths in (
        ("--eval-dir", data.eval_dir),
        ("--eval-annotations", data.eval_annotations),
    ):
        for index, path in enumerate(paths or ()):
            named[flag if index == 0 else f"{flag} ({index + 1})"] = path
    return {flag: path for flag, path in named.items() if path is not None}


def _inputs(config: BenchmarkConfig) -> dict[str, str | Path | None]:
    """What the run reads, by flag: the results must go elsewhere."""
    data = config.data
    named: dict[str, str | Path | None] = {
        **_data_paths(config),
        "--pretrained": config.model.pretrained,
    }
    # The embedded faces and the uint8 caches of every split live there.
    named["data.cache_dir (generated data and caches)"] = cache_root(data)
    return named
