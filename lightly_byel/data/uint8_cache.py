"""A labelled image dataset decoded once into a uint8 array of one image size.

Decoding JPEG files and resizing them costs far more CPU time than a GPU needs to
train on the result: at 128 px a ResNet-50 BYOL step on one GPU consumes several
thousand images a second, more than a 16-core machine decodes and augments. The
cache pays the decoding once; afterwards a training batch is one gather from a
memory-mapped array (about 37 KB per 112 px image), and augmentation runs batched on
the GPU (:class:`~lightly_byel.transforms.BYELBatchTransform`).

On disk a cache is one folder ``uint8-<size>px-<fingerprint>`` holding
``images.npy`` (``(N, size, size, 3)`` uint8, read memory-mapped), ``labels.npy``
and ``cache.json``. The fingerprint covers every file's path, byte size and
modification time, the labels and the image size, so a changed dataset gets a new
cache rather than stale pixels. The folder is built under a temporary name and
renamed when complete, so an interrupted build never leaves a cache that looks
usable; a build removes the staging folders that killed builds left in the cache
folder more than a day ago (:func:`~lightly_byel.data.staging.remove_stale_staging`).
"""

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from lightly_byel._locks import exclusive_lock
from lightly_byel.data.images import LabeledImageFiles
from lightly_byel.data.staging import remove_stale_staging

CACHE_FORMAT = 1
"""Version of the on-disk layout; part of the fingerprint."""

STAGING_PREFIX = ".uint8-"
"""Start of the names under which caches are built (``.<final name>.<random>``)."""

_NPY_HEADER_BYTES = 128
_DISK_MARGIN_BYTES = 16 * 2**20


class UInt8ImageCache(Dataset[tuple[Tensor, int]]):
    """Images of a labelled dataset, decoded once, as a uint8 array of one size.

    Index it like the dataset it was built from: ``cache[i]`` is ``(image, label)``
    with a uint8 tensor of shape ``(3, size, size)``. Batches come from
    :meth:`batch` (or a DataLoader, which calls ``__getitems__``) as one gather from
    the memory-mapped file, without Python work per image.

    Attributes:
        root: The cache folder.
        images: Memory-mapped array ``(N, size, size, 3)``, uint8.
        targets: Class index of every image.
        classes: Class names, as in the source dataset.
        size: Side of the cached images in pixels.

    Examples:
        >>> import tempfile
        >>> from lightly_byel.data import LSDImageFolder
        >>> from lightly_byel.data.synthfaces import generate
        >>> folder = tempfile.mkdtemp()
        >>> _ = generate(folder, images_per_class=2, image_size=40)
        >>> faces = LSDImageFolder(f"{folder}/training_set_synthetic_images")
        >>> cache = UInt8ImageCache.build(faces, f"{folder}/cache", size=32)
        Building the uint8 image cache of 12 images at 32x32 px (0.04 MB) in
        .../cache/uint8-32px-... ...
        >>> image, label = cache[3]
        >>> image.shape, image.dtype, label == faces.targets[3]
        (torch.Size([3, 32, 32]), torch.uint8, True)
        >>> images, labels = cache.batch([0, 5])
        >>> images.shape, labels.tolist() == [faces.targets[0], faces.targets[5]]
        (torch.Size([2, 3, 32, 32]), True)
        >>> UInt8ImageCache.build(faces, f"{folder}/cache", size=32).root == cache.root
        True
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Opens a finished cache folder.

        Args:
            root: A folder written by :meth:`build`.

        Raises:
            FileNotFoundError: If the folder or one of its files is missing.
            ValueError: If its files disagree with each other.
        """
        self.root = Path(root)
        meta_file = self.root / "cache.json"
        if not meta_file.is_file():
            raise FileNotFoundError(
                f"{str(self.root)!r} is not a uint8 image cache: no cache.json."
            )
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        self.size = int(meta["size"])
        self.classes: list[str] = list(meta["classes"])
        self.images: NDArray[np.uint8] = np.load(
            self.root / "images.npy", mmap_mode="r"
        )
        labels = np.load(self.root / "labels.npy")
        expected = (int(meta["count"]), self.size, self.size, 3)
        if self.images.shape != expected or labels.shape != (expected[0],):
            raise ValueError(
                f"uint8 image cache {str(self.root)!r} is inconsistent: images "
                f"{self.images.shape}, labels {labels.shape}, expected {expected}; "
                "delete the folder to rebuild it."
            )
        self._labels = torch.from_numpy(labels.astype(np.int64))
        self.targets: list[int] = labels.tolist()

    @classmethod
    def build(
        cls,
        dataset: LabeledImageFiles,
        cache_dir: str | os.PathLike[str],
        size: int,
        num_workers: int = 0,
    ) -> "UInt8ImageCache":
        """Returns the cache of a dataset at one size, decoding it if not cached.

        Every image is loaded as the dataset loads it (RGB, unreadable files
        replaced by the next readable sample) and resized to ``size x size`` with
        Pillow's bilinear filter (antialiased when shrinking); images of that size
        keep their exact pixels.

        Before decoding it removes stale staging folders of earlier, killed builds
        from ``cache_dir``, prints one line with the number of images, their size,
        the bytes the cache takes and where it goes, and checks that the disk has
        room for it (see :func:`footprint_bytes`).

        Args:
            dataset: The labelled images, without a transform.
            cache_dir: Folder that keeps caches; created if missing.
            size: Side of the cached images in pixels.
            num_workers: DataLoader processes that decode (0: this process).

        Returns:
            The cache, opened memory-mapped.

        Raises:
            ValueError: If ``size`` is not a positive integer, the dataset has a
                transform or no images.
            OSError: If the disk of ``cache_dir`` has too little free space for
                the cache (``errno.ENOSPC``); the message names the folder, the
                bytes needed and the bytes free.
        """
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}.")
        if dataset.transform is not None:
            raise ValueError(
                "build the cache from a dataset without a transform (it stores the "
                f"decoded images), got transform {dataset.transform!r}."
            )
        if len(dataset) == 0:
            raise ValueError("cannot cache an empty dataset.")
        parent = Path(cache_dir)
        fingerprint = dataset.fingerprint(f"{CACHE_FORMAT}:{size}")[:16]
        root = parent / f"uint8-{size}px-{fingerprint}"
        if (root / "cache.json").is_file():
            return cls(root)
        parent.mkdir(parents=True, exist_ok=True)
        # Processes that build the same cache at once (the ranks of a DDP run)
        # take turns: the first builds it, the others find it finished.
        with exclusive_lock(parent / f".{root.name}.lock"):
            if (root / "cache.json").is_file():
                return cls(root)
            remove_stale_staging(parent, STAGING_PREFIX)
            needed = footprint_bytes(len(dataset), size)
            print(
                f"Building the uint8 image cache of {len(dataset)} images at "
                f"{size}x{size} px ({_readable_bytes(needed)}) in {root} ...",
                flush=True,
            )
            _check_disk_space(parent, needed)
            staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=parent))
            try:
                _decode_into(staging, dataset, size, num_workers)
                if root.exists():  # left without cache.json: not usable
                    shutil.rmtree(root)
                os.replace(staging, root)
            finally:
                if staging.exists():
                    shutil.rmtree(staging)
        return cls(root)

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" (macOS, Windows) unpickle the
        # dataset: send the folder and map the file again, not the pixels.
        state = self.__dict__.copy()
        del state["images"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.images = np.load(self.root / "images.npy", mmap_mode="r")

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: SupportsIndex) -> tuple[Tensor, int]:
        """Returns ``(image, label)``: uint8 ``(3, size, size)`` and the class."""
        position = int(index)
        image = torch.from_numpy(np.array(self.images[position]))
        return image.permute(2, 0, 1), self.targets[position]

    def batch(
        self, indices: Sequence[int] | NDArray[np.int64]
    ) -> tuple[Tensor, Tensor]:
        """Returns the images and labels of several samples in one gather.

        Args:
            indices: Sample indices.

        Returns:
            Images ``(B, 3, size, size)`` uint8, channels-last in memory (a
            permuted view of ``(B, size, size, 3)``), and labels ``(B,)`` int64.
        """
        rows = np.asarray(indices, dtype=np.int64)
        images = torch.from_numpy(self.images[rows])
        return images.permute(0, 3, 1, 2), self._labels[rows]

    # DataLoader fetches a whole batch with one call when a dataset defines this.
    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        return self.batch(indices)


class CachedSubset(Dataset[tuple[Tensor, int]]):
    """Some samples of a :class:`UInt8ImageCache`, fetched a batch at a time.

    Use it with :func:`collate_batch` in a DataLoader:
    ``DataLoader(CachedSubset(cache, indices), batch_size=256,
    collate_fn=collate_batch)`` yields ``(images, labels)`` batches.

    Examples:
        >>> cache = UInt8ImageCache.__new__(UInt8ImageCache)
        >>> cache.images = np.zeros((4, 8, 8, 3), dtype=np.uint8)
        >>> cache.targets, cache._labels = [0, 1, 2, 3], torch.arange(4)
        >>> subset = CachedSubset(cache, [3, 1])
        >>> loader = DataLoader(subset, batch_size=2, collate_fn=collate_batch)
        >>> images, labels = next(iter(loader))
        >>> images.shape, labels.tolist(), subset.labels()
        (torch.Size([2, 3, 8, 8]), [3, 1], [3, 1])
    """

    def __init__(self, cache: UInt8ImageCache, indices: Sequence[int]) -> None:
        self.cache = cache
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: SupportsIndex) -> tuple[Tensor, int]:
        return self.cache[int(self.indices[int(index)])]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        return self.cache.batch(self.indices[np.asarray(indices, dtype=np.int64)])

    def labels(self) -> list[int]:
        """The label of every sample."""
        return [self.cache.targets[i] for i in self.indices.tolist()]


def collate_batch(batch: Any) -> Any:
    """The DataLoader ``collate_fn`` of cached batches: they come collated.

    A batch from ``__getitems__`` is already ``(images, labels)``; a list of
    samples (from a dataset without it) is stacked as usual.
    """
    if isinstance(batch, tuple):
        return batch
    return torch.utils.data.default_collate(batch)


def footprint_bytes(count: int, size: int) -> int:
    """The bytes a cache of ``count`` images of ``size x size`` pixels takes on disk.

    The uint8 pixels (``count * size * size * 3``), the int64 labels and the
    headers of the two ``.npy`` files; ``cache.json`` adds a few hundred bytes.

    Examples:
        >>> footprint_bytes(277_251, 112) / 1e9
        10.43...
    """
    return count * size * size * 3 + count * 8 + 2 * _NPY_HEADER_BYTES


def _check_disk_space(parent: Path, needed: int) -> None:
    """Raises ``OSError(ENOSPC)`` unless ``parent``'s disk has ``needed`` bytes free.

    A small margin on top keeps the disk from filling to the last block.
    """
    # The pixels go through a memory-mapped file, which takes its disk blocks only
    # as it is written: on a full disk the process would die of SIGBUS midway.
    free = shutil.disk_usage(parent).free
    margin = needed // 20 + _DISK_MARGIN_BYTES
    if free < needed + margin:
        raise OSError(
            errno.ENOSPC,
            f"not enough free disk space for the uint8 image cache in "
            f"{str(parent)!r}: it needs {needed} bytes ({_readable_bytes(needed)}) "
            f"plus a margin of {margin} bytes, and {free} bytes "
            f"({_readable_bytes(free)}) are free; free some space or pass another "
            "cache_dir",
        )


def _readable_bytes(count: int) -> str:
    if count >= 10**9:
        return f"{count / 10**9:.2f} GB"
    return f"{count / 10**6:.2f} MB"


class _Resized(Dataset[tuple[NDArray[np.uint8], int]]):
    """The dataset's images as ``(size, size, 3)`` uint8 arrays."""

    def __init__(self, dataset: LabeledImageFiles, size: int) -> None:
        self.dataset = dataset
        self.size = size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[NDArray[np.uint8], int]:
        image, label = self.dataset[index]
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return np.asarray(image, dtype=np.uint8), label


def _stack(samples: list[tuple[NDArray[np.uint8], int]]) -> tuple[Any, Any]:
    images, labels = zip(*samples, strict=True)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _decode_into(
    folder: Path, dataset: LabeledImageFiles, size: int, num_workers: int
) -> None:
    count = len(dataset)
    images = np.lib.format.open_memmap(
        folder / "images.npy", mode="w+", dtype=np.uint8, shape=(count, size, size, 3)
    )
    labels = np.empty(count, dtype=np.int64)
    loader = DataLoader(
        _Resized(dataset, size),
        batch_size=256,
        num_workers=num_workers,
        collate_fn=_stack,
    )
    start = 0
    for batch_images, batch_labels in loader:
        stop = start + len(batch_labels)
        images[start:stop] = batch_images
        labels[start:stop] = batch_labels
        start = stop
    images.flush()
    del images
    np.save(folder / "labels.npy", labels)
    meta = {
        "format": CACHE_FORMAT,
        "size": size,
        "count": count,
        "classes": list(dataset.classes),
    }
    (folder / "cache.json").write_text(json.dumps(meta, indent=2) + "\n")
