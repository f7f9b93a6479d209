"""What every pipeline gives a run: pretraining batches, evaluation samples, encoders.

:class:`DataPipeline` is the interface; :mod:`harness.pipelines.files` and
:mod:`harness.pipelines.cache.pipeline` implement it, and
:mod:`harness.pipelines.registry` picks one by name.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from torch import nn
from torch.utils.data import DataLoader

from harness.config.settings import BenchmarkConfig
from harness.data.splits import Splits
from harness.methods import MethodSpec
from harness.pipelines.cache.uint8_cache import CachedSubset
from harness.pipelines.loading import Transformed, loader

Samples = Transformed | CachedSubset


class PretrainData(pl.LightningDataModule):
    """A method's pretraining batches, and their augmentation on the device.

    Lightning calls :meth:`on_after_batch_transfer` once a batch is on the
    training device; with an ``augment`` module (the cache pipeline) it turns the
    uint8 images into the method's views there.

    Args:
        batches: The training batches.
        augment: Maps a batch of images to the method's views, or ``None`` when
            the batches come augmented.
    """

    def __init__(self, batches: DataLoader[Any], augment: nn.Module | None) -> None:
        super().__init__()
        self.batches = batches
        self.augment = augment
        self.batch_size = batches.batch_size

    def train_dataloader(self) -> DataLoader[Any]:
        return self.batches

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.augment is None:
            return batch
        images, labels = batch[0], batch[1]
        return self.augment(images), labels


class DataPipeline(ABC):
    """The data of one run, as one pipeline delivers it.

    Args:
        splits: The run's images.
        config: The settings (input size, crops, batch size, workers).
    """

    def __init__(self, splits: Splits, config: BenchmarkConfig) -> None:
        self.splits = splits
        self.model = config.model
        self.config = config

    def pretraining_data(self, spec: MethodSpec, seed: int) -> PretrainData:
        """A method's shuffled pretraining batches (by epoch, from ``seed``)."""
        samples, augment = self.pretraining(spec)
        batches = loader(
            samples,
            self.config.pretrain.batch_size_per_device,
            self.config.data.num_workers,
            shuffle=True,
            drop_last=True,
            seed=seed,
        )
        return PretrainData(batches, augment)

    @abstractmethod
    def pretraining(self, spec: MethodSpec) -> tuple[Samples, nn.Module | None]:
        """A method's training samples, and the augmentation to apply on the device.

        Returns:
            The samples, and the module that augments their batches on the device
            (``None`` when the samples come augmented).
        """

    @abstractmethod
    def plain(self, split: str, indices: Sequence[int] | None = None) -> Samples:
        """Samples of ``split`` without augmentation.

        ``split`` is ``train``, ``eval`` (the main evaluation set) or the name of
        another evaluation set (:attr:`Splits.other_evals`).
        """

    @abstractmethod
    def augmented(self, indices: Sequence[int]) -> Samples:
        """Training samples with fine-tuning's augmentation (or its raw input)."""

    @abstractmethod
    def encoder(self, backbone: nn.Module, augment: bool = False) -> nn.Module:
        """The backbone as it must see this pipeline's batches.

        Args:
            backbone: Maps network input ``(batch, 3, S, S)`` to features.
            augment: Whether training batches get fine-tuning's augmentation here.
        """

    def backbone_of(self, encoder: nn.Module) -> nn.Module:
        """The backbone inside an :meth:`encoder` (network input to features)."""
        return encoder
