"""Samples and DataLoaders of both pipelines: subsets with a transform, epoch orders.

Every loader of a run (pretraining, evaluations, the monitor) comes from
:func:`loader`, so that shuffling, class-balanced sampling and worker seeds are
drawn the same way, and reproducibly on a resume, whichever pipeline feeds it.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from harness.data.class_balance import inverse_frequency_weights
from harness.pipelines.cache.uint8_cache import CachedSubset, collate_batch
from lightly_byel.data import LabeledImageFiles


class Transformed(Dataset[tuple[Any, int]]):
    """A subset of a labelled image dataset, with its own transform."""

    def __init__(
        self,
        dataset: LabeledImageFiles,
        indices: Sequence[int],
        transform: Callable[[Image.Image], Any],
    ) -> None:
        self.dataset = dataset
        self.indices = list(indices)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        image, label = self.dataset[self.indices[index]]
        return self.transform(image), label

    def labels(self) -> list[int]:
        """The label of every sample, without loading an image."""
        return [self.dataset.targets[i] for i in self.indices]


class EpochShuffle(Sampler[int]):
    """A random order of the samples for each epoch, drawn from ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before every epoch (also through its
    distributed wrapper), so a fit resumed at epoch ``k`` draws epoch ``k``'s order,
    as an uninterrupted fit does. With ``weights`` it draws ``size`` samples with
    replacement in proportion to them (a class-balanced sampler) instead.

    Examples:
        >>> sampler = EpochShuffle(5, seed=0)
        >>> first = list(sampler)
        >>> sampler.set_epoch(1)
        >>> sorted(first), list(sampler) != first, len(sampler)
        ([0, 1, 2, 3, 4], True, 5)
        >>> sampler.set_epoch(0)
        >>> list(sampler) == first
        True
    """

    def __init__(self, size: int, seed: int, weights: Tensor | None = None) -> None:
        self.size = size
        self.seed = seed
        self.weights = weights
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order :meth:`__iter__` gives."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        state = np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)
        generator = torch.Generator().manual_seed(int(state[0]))
        if self.weights is None:
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.multinomial(
                self.weights, self.size, replacement=True, generator=generator
            )
        return iter(order.tolist())


def loader(
    dataset: Transformed | CachedSubset,
    batch_size: int,
    num_workers: int,
    shuffle: bool,
    drop_last: bool = False,
    balanced: bool = False,
    seed: int = 0,
) -> DataLoader[Any]:
    """A DataLoader with pinned memory and persistent workers where they help.

    Batches of a :class:`CachedSubset` are gathered whole from its cache. Shuffled
    and balanced orders come from :class:`EpochShuffle`.

    Args:
        dataset: The samples.
        batch_size: Batch size on this device.
        num_workers: Worker processes.
        shuffle: Whether to shuffle (training).
        drop_last: Whether to drop a last incomplete batch (batch norm needs > 1).
        balanced: Whether to draw classes equally often (a class-balanced
            sampler) instead of shuffling.
        seed: Seed of the shuffling or sampling.
    """
    sampler = None
    if balanced:
        labels = torch.as_tensor(dataset.labels())
        weights = inverse_frequency_weights(labels, int(labels.max()) + 1)
        sampler = EpochShuffle(len(labels), seed, weights[labels].double())
    elif shuffle:
        sampler = EpochShuffle(len(dataset), seed)
    return DataLoader(
        dataset,
        batch_size=min(batch_size, len(dataset)),
        sampler=sampler,
        drop_last=drop_last and len(dataset) > batch_size,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
        # Draws the workers' base seed, so that it too is the same on a resume.
        generator=torch.Generator().manual_seed(seed),
        collate_fn=collate_batch if isinstance(dataset, CachedSubset) else None,
    )
