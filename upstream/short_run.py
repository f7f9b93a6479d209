"""Runs one of the examples in examples/ for a few steps, on the CPU in seconds.

Usage::

    python upstream/short_run.py EXAMPLE FOLDER

The example is shortened to one epoch of 32 px views in batches of 8, loaded in
the process (the texts in :data:`SHRINK` and :data:`SHRINK_BY_EXAMPLE`, each of
which must occur exactly once, so that a changed example fails loudly instead of
training for real) and run with ``FOLDER`` as the working directory. If ``FOLDER``
has no ``datasets/lsd/training_set_synthetic_images``, it gets one with a few
random images per class. The tests run the examples through here, and so does
upstream/check.sh inside a Lightly checkout, which is why this file runs on
Python 3.7 and imports only the standard library, numpy, Pillow and torch.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

#: Shortenings of every example: small views and batches, no worker processes.
SHRINK = {
    "batch_size=256": "batch_size=8",
    "num_workers=8": "num_workers=0",
    "input_size=112": "input_size=32",
}

#: Shortenings by example folder: one epoch.
SHRINK_BY_EXAMPLE = {
    "pytorch": {"epochs = 10": "epochs = 1"},
    "pytorch_lightning": {"max_epochs=10": "max_epochs=1"},
}

#: Where the examples read the LSD training split, relative to the working folder.
LSD_TRAIN = Path("datasets/lsd/training_set_synthetic_images")

#: The six LSD class folders, in the order of their class indices.
CLASSES = ("ANGER", "DISGUST", "FEAR", "HAPPINESS", "SADNESS", "SURPRISE")


def shortened(example: Path) -> str:
    """The example's code with the shortenings applied.

    Raises:
        ValueError: If a shortened text does not occur exactly once.
    """
    code = example.read_text(encoding="utf-8")
    shrink = {**SHRINK, **SHRINK_BY_EXAMPLE[example.parent.name]}
    for old, new in shrink.items():
        count = code.count(old)
        if count != 1:
            raise ValueError(
                f"{example}: expected {old!r} once, found it {count} times; update "
                "the shortenings in upstream/short_run.py with the example."
            )
        code = code.replace(old, new)
    return code


def write_random_images(folder: Path, per_class: int = 8, size: int = 32) -> None:
    """Writes ``per_class`` random RGB images into each LSD class folder."""
    generator = np.random.default_rng(0)
    for name in CLASSES:
        (folder / name).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            pixels = generator.integers(0, 256, (size, size, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / name / f"{index}.png")


def run(example: Path, folder: Path) -> dict[str, Any]:
    """Runs the shortened example in ``folder``; returns its global names.

    Raises:
        ValueError: If the example no longer has a text the shortenings replace.
    """
    code = shortened(example)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / LSD_TRAIN).is_dir():
        write_random_images(folder / LSD_TRAIN)
    script = folder / f"short_{example.parent.name}_{example.name}"
    script.write_text(code, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        torch.manual_seed(0)
        return runpy.run_path(str(script), run_name="__main__")
    finally:
        os.chdir(cwd)


def main(argv: list[str]) -> int:
    """Runs the example named on the command line; prints its last loss."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    example, folder = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    namespace = run(example, folder)
    trainer = namespace.get("trainer")
    if trainer is not None:
        loss = trainer.callback_metrics["train_loss_ssl"]
        steps = trainer.global_step
    else:
        loss, steps = namespace["avg_loss"], len(namespace["dataloader"])
    if steps < 1 or not torch.isfinite(loss):
        print(f"{example}: {steps} steps, loss {loss}", file=sys.stderr)
        return 1
    print(f"{example}: {steps} steps, loss {float(loss):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
