"""Timing the benchmark's training steps: short Lightning fits with a step clock.

The methods' LightningModules are trained by a Lightning ``Trainer``, as the
benchmark trains them, for a few untimed warm-up steps and then the timed ones;
:class:`StepClock` takes the time of each timed step. Comparisons alternate the
order of the compared things from one round to the next (:func:`alternating`), so
that slow drifts of the machine (clock boost, heat, other load) hit all alike.
"""

import time
from collections.abc import Sequence
from typing import Any, TypeVar

import pytorch_lightning as pl
import torch
from torch.utils.data import Dataset

_T = TypeVar("_T")


def synchronize(device: torch.device) -> None:
    """Waits for queued work on ``device``, so that the clock sees all of it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepClock(pl.Callback):
    """Times each training step after the warm-up, batch fetch included.

    A step's time runs from the end of the previous step to the end of this one,
    so it holds the wait for the batch, the transfer, the augmentation on the
    device and the step; the device is synchronised at each boundary.

    Args:
        warmup: Untimed steps at the start of the fit, at least 1 (the first timed
            step starts where the last of them ends).

    Raises:
        ValueError: If ``warmup`` is less than 1.
    """

    def __init__(self, warmup: int) -> None:
        if warmup < 1:
            raise ValueError(f"warmup must be at least 1, got {warmup}.")
        self.warmup = warmup
        self.times: list[float] = []
        self._last = 0.0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        synchronize(pl_module.device)
        now = time.perf_counter()
        if trainer.global_step > self.warmup:
            self.times.append(now - self._last)
        self._last = now


class PreparedBatches(Dataset[Any]):
    """Batches made in advance, handed out as they are.

    Load it with ``DataLoader(PreparedBatches(batches), batch_size=None)``, so that
    the loader adds no batch dimension.

    Examples:
        >>> len(PreparedBatches([1, 2])), PreparedBatches([1, 2])[1]
        (2, 2)
    """

    def __init__(self, batches: Sequence[Any]) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> Any:
        return self.batches[index]


def random_batches(
    count: int,
    batch_size: int,
    input_size: int,
    device: torch.device,
    views: int = 2,
    uint8: bool = False,
    num_classes: int = 6,
    seed: int = 0,
) -> list[tuple[Any, torch.Tensor]]:
    """Random batches already on ``device``: views, or uint8 images to augment.

    Args:
        count: Batches to make.
        batch_size: Images per batch (and view).
        input_size: Height and width of the images.
        device: Where the batches wait.
        views: Views per image: 2 gives a list of two float tensors, 1 one tensor.
        uint8: Gives one uint8 tensor of images instead of views, for a module
            that augments batches on the device.
        num_classes: Labels are drawn from ``[0, num_classes)``.
        seed: Seed of the draws; the same seed gives the same batches.

    Returns:
        ``(images, labels)`` pairs; images of shape
        ``(batch_size, 3, input_size, input_size)``, labels ``(batch_size,)``.

    Examples:
        >>> [(views, labels)] = random_batches(1, 4, 8, torch.device("cpu"))
        >>> len(views), views[0].shape, labels.shape
        (2, torch.Size([4, 3, 8, 8]), torch.Size([4]))
    """
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, 3, input_size, input_size)
    batches = []
    for _ in range(count):
        labels = torch.randint(0, num_classes, (batch_size,), generator=generator)
        images: Any
        if uint8:
            images = torch.randint(
                0, 256, shape, generator=generator, dtype=torch.uint8
            ).to(device)
        else:
            made = [
                torch.randn(shape, generator=generator).to(device) for _ in range(views)
            ]
            images = made[0] if views == 1 else made
        batches.append((images, labels.to(device)))
    return batches


def timed_fit(
    module: pl.LightningModule,
    batches: Any,
    device: torch.device,
    precision: str,
    warmup: int,
    steps: int,
) -> list[float]:
    """Trains ``module`` with a Lightning Trainer for ``warmup + steps`` steps.

    A new Trainer is made for every call: the optimizer, the learning-rate and
    momentum schedules start afresh (over ``warmup + steps`` steps); the weights go
    on from where they are.

    Args:
        module: The LightningModule to train.
        batches: The training batches (a DataLoader); epochs repeat them.
        device: The device to train on, CPU or one CUDA device.
        precision: Lightning's precision, e.g. ``"32-true"``.
        warmup: Untimed steps first, at least 1.
        steps: Timed steps after them.

    Returns:
        The seconds of each timed step (see :class:`StepClock`).
    """
    clock = StepClock(warmup)
    trainer = pl.Trainer(
        accelerator="gpu" if device.type == "cuda" else "cpu",
        devices=1,
        precision=precision,  # type: ignore[arg-type]
        max_steps=warmup + steps,
        # The learning-rate schedule needs a finite epoch count; max_steps ends it.
        max_epochs=10**6,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[clock],
    )
    trainer.fit(module, batches)
    return clock.times


def alternating(items: Sequence[_T], rounds: int) -> list[tuple[_T, ...]]:
    """The order of ``items`` in each round: as given, reversed, as given, ...

    Examples:
        >>> alternating(["byol", "byel"], 3)
        [('byol', 'byel'), ('byel', 'byol'), ('byol', 'byel')]
    """
    return [tuple(items if index % 2 == 0 else items[::-1]) for index in range(rounds)]
