"""How images reach the network: decoded per sample, or from a uint8 cache.

A :class:`DataPipeline` gives every part of a run its data: the pretraining batches
of a method and the augmentation they need on the device, the plain and the
augmented batches of the evaluations, and the encoder that turns the pipeline's
batches into features. Two implementations:

- :class:`FilesPipeline` (``pipeline: files``): DataLoader workers decode each
  image file and transform it (PIL, torchvision), one sample at a time.
- :class:`CachePipeline` (``pipeline: cache``): both splits are decoded once into
  uint8 caches; batches are gathered whole and resized, normalised and augmented
  on the training device.

:func:`make_pipeline` picks the one the settings name; the run never needs to know
which it has.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import pytorch_lightning as pl
from torch import nn
from torch.utils.data import DataLoader

from harness.data import (
    DevicePreprocess,
    Splits,
    Transformed,
    build_caches,
    loader,
)
from harness.methods import MethodSpec, one_view_batch_transform, one_view_transform
from harness.settings import BenchmarkConfig
from lightly_byel.data.uint8_cache import CachedSubset
from lightly_byel.transforms.eval_transform import EvalTransform

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


class FilesPipeline(DataPipeline):
    """Each image decoded and transformed in the DataLoader, sample by sample."""

    def pretraining(self, spec: MethodSpec) -> tuple[Samples, nn.Module | None]:
        splits = self.splits
        return Transformed(
            splits.train, splits.train_indices, spec.transform(self.model)
        ), None

    def plain(self, split: str, indices: Sequence[int] | None = None) -> Samples:
        dataset = self.splits.split(split)
        chosen = range(len(dataset)) if indices is None else indices
        return Transformed(dataset, chosen, EvalTransform(self.model.input_size))

    def augmented(self, indices: Sequence[int]) -> Samples:
        return Transformed(self.splits.train, indices, one_view_transform(self.model))

    def encoder(self, backbone: nn.Module, augment: bool = False) -> nn.Module:
        return backbone


class CachePipeline(DataPipeline):
    """Both splits decoded once into uint8 caches, prepared on the device."""

    def __init__(self, splits: Splits, config: BenchmarkConfig) -> None:
        super().__init__(splits, config)
        self.caches = build_caches(splits, config)

    def pretraining(self, spec: MethodSpec) -> tuple[Samples, nn.Module | None]:
        samples = CachedSubset(self.caches.train, self.splits.train_indices)
        return samples, spec.batch_transform(self.model)

    def plain(self, split: str, indices: Sequence[int] | None = None) -> Samples:
        cache = self.caches.split(split)
        return CachedSubset(cache, range(len(cache)) if indices is None else indices)

    def augmented(self, indices: Sequence[int]) -> Samples:
        return CachedSubset(self.caches.train, indices)

    def encoder(self, backbone: nn.Module, augment: bool = False) -> nn.Module:
        augmentation = one_view_batch_transform(self.model) if augment else None
        preprocess = DevicePreprocess(self.model.input_size, augmentation)
        return nn.Sequential(preprocess, backbone)

    def backbone_of(self, encoder: nn.Module) -> nn.Module:
        if isinstance(encoder, nn.Sequential) and isinstance(
            encoder[0], DevicePreprocess
        ):
            return encoder[1]
        return encoder


PIPELINES: dict[str, type[DataPipeline]] = {
    "files": FilesPipeline,
    "cache": CachePipeline,
}


def make_pipeline(splits: Splits, config: BenchmarkConfig) -> DataPipeline:
    """The pipeline ``config.data.pipeline`` names, for ``splits``."""
    return PIPELINES[config.data.pipeline](splits, config)
