"""What a fit prints: a progress bar on a terminal, one line per epoch elsewhere.

A run trains dozens of short fits. Lightning announces every one of them (the
hardware, a tip, the model summary, seeds, why it stopped) and redraws its
progress bar with carriage returns, which fills a redirected log with thousands of
lines. :func:`quiet_third_party` keeps those messages and the third-party warnings
that every fit repeats off the console, and :func:`console_settings` keeps the
progress bar for terminals and prints one :class:`EpochLine` per epoch otherwise.
"""

import functools
import logging
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

LIGHTNING_LOGGERS = (
    "pytorch_lightning",
    "lightning.pytorch",
    "lightning_fabric.utilities.seed",
    "lightning.fabric.utilities.seed",
)
"""Lightning's loggers whose INFO messages describe every fit anew. The rest of
Fabric's stay: under DDP each process says that it joined the group."""

THIRD_PARTY_WARNINGS = (
    # Raised inside pytorch-lightning 2.6 itself, on every fit.
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    # Fine-tuning with holdout_fraction 0 has no epochs to select, so it runs no
    # validation on purpose; Lightning takes that for a mistake on every fit.
    r"You defined a `validation_step` but have no `val_dataloader`",
)
"""Warnings that come from the libraries, not from the user's files or settings."""


@functools.cache
def quiet_third_party() -> None:
    """Keeps Lightning's per-fit messages and the known library warnings quiet.

    Warnings of Lightning and the run's own messages stay. Called once per
    process; later calls do nothing.

    Examples:
        >>> quiet_third_party()
        >>> logging.getLogger("pytorch_lightning").level == logging.WARNING
        True
    """
    for name in LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in THIRD_PARTY_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


class EpochLine(pl.Callback):
    """Prints one line per epoch: the unit, the epoch, its metrics and its seconds.

    Args:
        unit: What is trained, as the run names it.
    """

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.started = time.perf_counter()

    def on_train_epoch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        if trainer.is_global_zero:
            seconds = time.perf_counter() - self.started
            print(epoch_line(self.unit, trainer, seconds), flush=True)


def epoch_line(unit: str, trainer: Any, seconds: float) -> str:
    """The line of one finished epoch.

    Examples:
        >>> import torch
        >>> from types import SimpleNamespace
        >>> trainer = SimpleNamespace(
        ...     current_epoch=2, max_epochs=10,
        ...     callback_metrics={"train_loss": torch.tensor(-2.5)},
        ... )
        >>> epoch_line("byel-seed0 pretraining", trainer, 1.234)
        'byel-seed0 pretraining: epoch 3/10, train_loss -2.5000, 1.2 s'
    """
    metrics: Mapping[str, Any] = trainer.callback_metrics
    shown = ", ".join(
        f"{name} {float(value):.4f}"
        for name, value in sorted(metrics.items())
        if _shown(name) and getattr(value, "numel", lambda: 1)() == 1
    )
    epoch = f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
    return ", ".join(
        part for part in (f"{unit}: {epoch}", shown, f"{seconds:.1f} s") if part
    )


def _shown(metric: str) -> bool:
    """Whether an epoch line shows a metric: the loss and scores, not its parts.

    Loss terms and learning rates stay in the CSV log, which keeps every metric.
    """
    return metric == "train_loss" or not metric.startswith(("train_", "lr-"))


def console_settings(unit: str) -> tuple[dict[str, Any], list[pl.Callback]]:
    """Trainer arguments and callbacks for the console a fit writes to.

    On a terminal Lightning's progress bar stays (with its ETA); elsewhere (a file,
    a pipe, a scheduler's log) each epoch is one :class:`EpochLine`. The model
    summary, the same for every fit of a method, is never printed.
    """
    quiet_third_party()
    on_terminal = sys.stdout.isatty()
    settings = {"enable_progress_bar": on_terminal, "enable_model_summary": False}
    return settings, [] if on_terminal else [EpochLine(unit)]
