"""What an evaluation protocol gets: one encoder, the run's data and its settings."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import DataLoader

from harness.config.settings import BenchmarkConfig
from harness.pipelines.base import DataPipeline, Samples
from harness.pipelines.loading import loader


@dataclass(frozen=True)
class EvalContext:
    """One encoder to evaluate, with the run's data, settings and folders.

    Attributes:
        config: The run's settings (``config.evaluation`` for the protocols).
        pipeline: The run's data, as batches for the encoder (see
            :meth:`DataPipeline.encoder`).
        backbone: The pretrained encoder; protocols must not change it.
        num_ftrs: Dimension of its features.
        seed: The unit's seed.
        unit: The unit's name (``byel-seed0``), for folders and messages.
        output: The run's results folder.
        hardware: Lightning Trainer settings of the run; evaluations use one device.
        writer: Whether this process may write and remove files.
    """

    config: BenchmarkConfig
    pipeline: DataPipeline
    backbone: nn.Module
    num_ftrs: int
    seed: int
    unit: str
    output: Path
    hardware: dict[str, Any]
    writer: bool = True

    def batches(self, samples: Samples, train: bool = False) -> DataLoader[Any]:
        """A loader of the evaluation's batch size; shuffled (by epoch) to train."""
        settings = self.config.evaluation
        return loader(
            samples,
            settings.batch_size_per_device,
            self.config.data.num_workers,
            shuffle=train,
            drop_last=train,
            balanced=train and settings.class_balance == "sampler",
            seed=self.seed,
        )

    def plain_train(self) -> DataLoader[Any]:
        """The training images without augmentation."""
        return self.batches(
            self.pipeline.plain("train", self.pipeline.splits.train_indices)
        )

    def holdout(self) -> DataLoader[Any] | None:
        """The held-out training images that select the epoch, if any."""
        held = self.pipeline.splits.holdout_indices
        return self.batches(self.pipeline.plain("train", held)) if held else None

    def evaluation(self) -> DataLoader[Any]:
        """The evaluation split, to score."""
        return self.batches(self.pipeline.plain("eval"))

    @property
    def one_device(self) -> dict[str, Any]:
        """The run's Trainer settings on a single device (evaluations never spread)."""
        return {**self.hardware, "devices": 1, "num_nodes": 1, "strategy": "auto"}
