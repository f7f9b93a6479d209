"""Training that survives a kill: atomic per-epoch checkpoints and exact resumption.

:func:`checkpointed_fit` runs a Lightning ``fit`` that writes a checkpoint at the
end of every epoch (``epoch-0003.ckpt``), atomically, and keeps the newest two.
Started again on the same folder it continues from the newest checkpoint that
loads; an unreadable one (torn by a full disk, say) is reported by name and set
aside as ``*.corrupt``, and the one before it is used. Checkpoints are read with
:func:`~lightly_byel.utils.safe_load.safe_load` only, by the probe and by
Lightning's own resume alike: one that holds pickled Python objects (which could
run code) is set aside as ``*.untrusted`` instead, never loaded. A checkpoint
holds, besides Lightning's model, optimizer, scheduler and loop state, the random
number generators' states and the seconds trained so far, so a resumed fit draws
the same augmentations and reports the time of all its attempts. With samplers
that shuffle by epoch (:class:`harness.pipelines.loading.EpochShuffle`) a resumed
fit takes the same steps as an uninterrupted one.

A non-finite loss for several consecutive steps stops the fit with
:class:`DivergenceError`, which names the unit and the step.
"""

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins import TorchCheckpointIO
from pytorch_lightning.callbacks import Checkpoint

from harness.training.console import console_settings
from lightly_byel.utils.atomic_files import remove_temporary_files, write_atomic
from lightly_byel.utils.safe_load import UntrustedFileError, safe_load

CHECKPOINT = re.compile(r"epoch-(?P<epoch>\d{4,})\.ckpt")
NON_FINITE_STEPS = 5
"""Consecutive steps with a non-finite loss after which a fit is stopped."""


class DivergenceError(RuntimeError):
    """A fit stopped because its loss stayed non-finite."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO, written atomically and read with ``safe_load``.

    Lightning reads with ``weights_only=None``, which an environment variable
    (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) can turn into a full unpickling.
    """

    def save_checkpoint(
        self,
        checkpoint: dict[str, Any],
        path: Any,
        storage_options: Any | None = None,
    ) -> None:
        write_atomic(Path(path), lambda file: torch.save(checkpoint, file))

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: Any = None
    ) -> dict[str, Any]:
        """Reads a checkpoint of tensors and plain data only, whatever is asked."""
        checkpoint: dict[str, Any] = safe_load(path, "checkpoint")
        return checkpoint


class EpochCheckpoints(Checkpoint):
    """Saves ``epoch-NNNN.ckpt`` after every training epoch; keeps the newest ``keep``.

    As a :class:`~pytorch_lightning.callbacks.Checkpoint`, Lightning runs it after
    the other callbacks of the epoch, so their state is saved as of the epoch's end.
    """

    def __init__(self, folder: Path, keep: int = 2) -> None:
        self.folder = folder
        self.keep = keep

    def on_train_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        trainer.save_checkpoint(
            self.folder / f"epoch-{trainer.current_epoch + 1:04d}.ckpt"
        )
        if trainer.is_global_zero:
            for old in checkpoints(self.folder)[: -self.keep]:
                old.unlink(missing_ok=True)


class RandomState(pl.Callback):
    """Saves and restores the random number generators with each checkpoint.

    The batch augmentations and dropout draw from torch's generators (the data
    order has its own, by epoch); restored, a resumed fit continues the same random
    sequence as an uninterrupted one.
    """

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


class TrainingClock(pl.Callback):
    """Seconds spent training, summed over every attempt of a resumed fit."""

    def __init__(self) -> None:
        self.seconds_before = 0.0
        self.seconds = 0.0
        self._started: float | None = None

    def on_train_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        self._started = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seconds = self.elapsed()

    def elapsed(self) -> float:
        """Seconds of earlier attempts plus this attempt's so far."""
        running = 0.0 if self._started is None else time.perf_counter() - self._started
        return self.seconds_before + running

    def state_dict(self) -> dict[str, Any]:
        return {"seconds": self.elapsed()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.seconds_before = float(state_dict["seconds"])
        self.seconds = self.seconds_before


class NonFiniteLossGuard(pl.Callback):
    """Stops a fit whose loss is not finite for ``patience`` consecutive steps.

    Args:
        unit: What is being trained, for the error (``"byel, seed 0, pretraining"``).
        patience: Consecutive non-finite steps to accept before stopping.
    """

    def __init__(self, unit: str, patience: int = NON_FINITE_STEPS) -> None:
        self.unit = unit
        self.patience = patience
        self.streak = 0

    def on_before_backward(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: torch.Tensor
    ) -> None:
        finite = math.isfinite(float(loss.detach()))
        # Every process must stop together, or the others wait for it forever.
        if trainer.strategy.reduce_boolean_decision(finite, all=True):
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.patience:
            # Before the backward pass the step is not yet counted.
            step = trainer.global_step + 1
            raise DivergenceError(
                f"{self.unit}: the training loss was not finite for "
                f"{self.streak} consecutive steps (up to step {step}); "
                "check the learning rate, the precision and any --pretrained "
                "weights."
            )


@dataclass(frozen=True)
class FitRecord:
    """What a checkpointed fit did, over all its attempts.

    Attributes:
        seconds: Seconds spent training.
        steps: Optimizer steps taken.
        images: Training images passed through, summed over the processes.
        resumed_from: The checkpoint this attempt started from, or ``None``.
        device: The device the module was trained on.
    """

    seconds: float
    steps: int
    images: int
    resumed_from: Path | None
    device: torch.device


def checkpoints(folder: Path) -> list[Path]:
    """The epoch checkpoints in ``folder``, oldest first."""
    epochs = {}
    for path in folder.glob("epoch-*.ckpt"):
        match = CHECKPOINT.fullmatch(path.name)
        if match is not None:
            epochs[int(match["epoch"])] = path
    return [epochs[epoch] for epoch in sorted(epochs)]


def newest_readable_checkpoint(
    folder: Path, set_aside: bool = True, report: Callable[[str], None] = print
) -> Path | None:
    """The newest checkpoint in ``folder`` that loads safely.

    Every process of a distributed run calls this and comes to the same choice;
    the one with ``set_aside`` renames an unreadable checkpoint to
    ``<name>.corrupt``, and one that holds pickled Python objects to
    ``<name>.untrusted`` (so it is neither lost nor tried again), and reports it
    through ``report``. No checkpoint is ever unpickled beyond tensors and plain
    data (:func:`~lightly_byel.utils.safe_load.safe_load`).
    """
    for path in reversed(checkpoints(folder)):
        try:
            safe_load(path, "checkpoint")
        except FileNotFoundError:  # set aside by another process meanwhile
            continue
        except (ValueError, OSError) as error:  # do not resume from it
            if set_aside:
                kind = (
                    "untrusted" if isinstance(error, UntrustedFileError) else "corrupt"
                )
                aside = path.with_name(f"{path.name}.{kind}")
                path.replace(aside)
                report(f"{error} Set aside as {aside.name}; trying the one before it.")
            continue
        return path
    return None


def checkpointed_fit(
    module: pl.LightningModule,
    train_loader: Any,
    val_loader: Any | None,
    max_epochs: int,
    folder: Path,
    unit: str,
    trainer_kwargs: Mapping[str, Any],
    callbacks: Sequence[pl.Callback] = (),
    writer: bool = True,
) -> FitRecord:
    """Fits ``module`` for ``max_epochs``, continuing from ``folder``'s checkpoints.

    Args:
        module: The LightningModule to train.
        train_loader: Training batches.
        val_loader: Validation batches for every epoch, or ``None``.
        max_epochs: Epochs to train in all.
        folder: Where the epoch checkpoints are kept (created by the writer).
        unit: What is being trained, for messages and errors.
        trainer_kwargs: Further Trainer arguments (hardware, logger, ...).
        callbacks: Further callbacks; their ``state_dict`` goes into the
            checkpoints.
        writer: Whether this process may remove files (the first process of a
            distributed run).

    Returns:
        The seconds and steps of the fit, over all attempts.

    Raises:
        DivergenceError: If the loss stays non-finite.
    """
    if writer:
        # Only the first process makes folders: under torchrun the others start at
        # the same moment, and a folder of theirs would make the first one, still
        # checking the output, take it for an earlier run's.
        folder.mkdir(parents=True, exist_ok=True)
        remove_temporary_files(folder)
    resume_from = newest_readable_checkpoint(folder, set_aside=writer)
    if resume_from is not None:
        print(f"{unit}: continuing from {resume_from}")
    clock = TrainingClock()
    console, lines = console_settings(unit)
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=[
            *callbacks,
            *lines,
            NonFiniteLossGuard(unit),
            RandomState(),
            clock,
            EpochCheckpoints(folder),
        ],
        plugins=[AtomicCheckpointIO()],
        **{**console, **trainer_kwargs},
    )
    trainer.fit(
        module,
        train_loader,
        val_loader,
        ckpt_path=None if resume_from is None else str(resume_from),
    )
    batch = getattr(train_loader, "batch_size", None) or 1
    return FitRecord(
        seconds=clock.seconds,
        steps=trainer.global_step,
        images=trainer.global_step * batch * trainer.world_size,
        resumed_from=resume_from,
        device=trainer.strategy.root_device,
    )
