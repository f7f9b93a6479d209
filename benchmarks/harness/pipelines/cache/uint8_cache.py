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
folder more than a day ago (:func:`~harness.storage.staging.remove_stale_staging`).

A cache also proves its contents. ``cache.json`` records the length of
``images.npy`` and ``labels.npy`` and a CRC-32 of every 16 MiB block of each
(:mod:`~harness.pipelines.cache.block_checksums`), taken when the cache is built.
Opening a cache reads both files once, start to end, and compares every block before any
pixel is handed out, so bytes damaged after the build (a failing disk, a copy cut
short) are never trained on. On a 2-core machine the pass takes 2.4 s for the
13.6 GB cache of LSD at 128 px when it is in the page cache and 13 s from disk,
6 ms for a cache of 1,200 images at 64 px (``benchmarks/cache_check.py``), and it
leaves the pixels in the page cache for the first epoch. Checking blocks lazily
on first use would not read less: training draws random batches that touch every
block within its first steps, and each DataLoader worker would check again. A
damaged, truncated or unreadable cache raises :class:`DamagedCacheError`, naming
the folder, the file and the block; :meth:`UInt8ImageCache.build` catches it and
rebuilds the cache from the source images.
"""

import contextlib
import errno
import json
import os
import shutil
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsIndex

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from harness.pipelines.cache.block_checksums import (
    BLOCK_BYTES,
    FileChecksums,
    damaged_blocks,
    file_checksums,
)
from harness.storage.lock import exclusive_lock
from harness.storage.staging import remove_stale_staging
from lightly_byel.data.images import LabeledImageFiles

CACHE_FORMAT = 2
"""Version of the on-disk layout; part of the fingerprint (2: block checksums)."""

CHECKSUM_BLOCK_BYTES = BLOCK_BYTES
"""Bytes per checksummed block of the files that new caches record."""

CHECKED_FILES = ("images.npy", "labels.npy")
"""The files of a cache whose length and block checksums ``cache.json`` records."""

STAGING_PREFIX = ".uint8-"
"""Start of the names under which caches are built (``.<final name>.<random>``)."""

_NPY_HEADER_BYTES = 128
_DISK_MARGIN_BYTES = 16 * 2**20


class DamagedCacheError(ValueError):
    """A uint8 image cache whose files are not as they were built.

    Its files are unreadable, cut short, or have blocks that differ from the
    checksums taken at build time. The cache is derived data: deleting the folder,
    or calling :meth:`UInt8ImageCache.build` (which rebuilds a damaged cache),
    recreates it from the source images.

    Attributes:
        folder: The cache folder.
        damage: What is wrong, naming the file and, for changed bytes, the block.

    Examples:
        >>> error = DamagedCacheError(Path("uint8-32px-0"), "labels.npy is missing")
        >>> print(error)
        uint8 image cache 'uint8-32px-0' is damaged: labels.npy is missing;
        delete the folder to rebuild it, or let UInt8ImageCache.build rebuild it
        from the source images
    """

    def __init__(self, folder: Path, damage: str) -> None:
        self.folder = folder
        self.damage = damage
        super().__init__(
            f"uint8 image cache {str(folder)!r} is damaged: {damage}; delete the "
            "folder to rebuild it, or let UInt8ImageCache.build rebuild it from the "
            "source images"
        )

    # Exceptions travel between processes (DataLoader workers) pickled; the
    # default would call __init__ with the message alone.
    def __reduce__(self) -> tuple[type["DamagedCacheError"], tuple[Path, str]]:
        return type(self), (self.folder, self.damage)


class UInt8ImageCache(Dataset[tuple[Tensor, int]]):
    """Images of a labelled dataset, decoded once, as a uint8 array of one size.

    Index it like the dataset it was built from: ``cache[i]`` is ``(image, label)``
    with a uint8 tensor of shape ``(3, size, size)``. Batches come from
    :meth:`batch` (or a DataLoader, which calls ``__getitems__``) as one gather from
    the memory-mapped file, without Python work per image.

    Opening a cache checks it before it maps a pixel: ``cache.json`` must be
    valid, ``images.npy`` and ``labels.npy`` must have the lengths recorded at
    build time and every 16 MiB block of theirs the CRC-32 recorded then (one
    sequential read of both files), and their shapes must agree. A cache that
    fails raises :class:`DamagedCacheError`; :meth:`build` rebuilds it instead.
    Processes that unpickle the cache (DataLoader workers) map the checked file
    again without reading it.

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

        Damaged bytes are found when the cache is opened, and rebuilt by ``build``:

        >>> with open(cache.root / "images.npy", "r+b") as file:
        ...     _ = file.seek(5000)
        ...     _ = file.write(b"?")
        >>> UInt8ImageCache(cache.root)
        Traceback (most recent call last):
        ...
        harness.pipelines.cache.uint8_cache.DamagedCacheError: uint8 image cache
        '.../cache/uint8-32px-...' is damaged:
        images.npy block 1 of 1 (bytes 0-36,991: the .npy header and images 0-11)
        does not match its checksum from the build; delete the folder to rebuild
        it, or let UInt8ImageCache.build rebuild it from the source images
        >>> UInt8ImageCache.build(faces, f"{folder}/cache", size=32).root == cache.root
        The uint8 image cache .../cache/uint8-32px-... is damaged (images.npy block
        1 of 1 ...); rebuilding it.
        Building the uint8 image cache of 12 images at 32x32 px (0.04 MB) in
        .../cache/uint8-32px-... ...
        True
    """

    def __init__(self, root: str | os.PathLike[str], *, verify: bool = True) -> None:
        """Opens a finished cache folder after checking its files.

        Args:
            root: A folder written by :meth:`build`.
            verify: Compare every block of ``images.npy`` and ``labels.npy`` with
                the checksum taken at build time, which reads both files once.
                Off only where the checksums were just taken of these very bytes
                (:meth:`build`, right after writing) or to measure what the check
                costs: the lengths, the ``.npy`` headers and the shapes are still
                checked, damaged pixels are not.

        Raises:
            FileNotFoundError: If the folder has no ``cache.json``.
            DamagedCacheError: If ``cache.json`` is unreadable or invalid, or a
                file is missing, cut short, unreadable, differs from its
                checksums or disagrees with the others.
        """
        self.root = Path(root)
        meta = _CacheMeta.read(self.root)
        # Every check comes before the pixels are mapped: nothing is handed out
        # from a cache that failed one.
        for name, checksums in meta.checksums.items():
            _check_file(self.root, name, checksums, meta, verify)
        self.size = meta.size
        self.classes: list[str] = list(meta.classes)
        self.images: NDArray[np.uint8] = _map_npy(self.root, "images.npy")
        labels = _map_npy(self.root, "labels.npy")
        expected = (meta.count, self.size, self.size, 3)
        if (
            self.images.shape != expected
            or self.images.dtype != np.uint8
            or labels.shape != (expected[0],)
            or labels.dtype != np.int64
        ):
            raise DamagedCacheError(
                self.root,
                f"its files are inconsistent: images {self.images.shape} "
                f"{self.images.dtype}, labels {labels.shape} {labels.dtype}, "
                f"expected {expected} uint8 and ({expected[0]},) int64",
            )
        self._labels = torch.from_numpy(np.array(labels))
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

        A cache found in ``cache_dir`` is opened with every check of the
        constructor; if it is damaged (:class:`DamagedCacheError`), one line names
        the folder and the damage, and the cache is rebuilt in its place.

        Before decoding it removes stale staging folders of earlier, killed builds
        from ``cache_dir``, prints one line with the number of images, their size,
        the bytes the cache takes and where it goes, and checks that the disk has
        room for it (see :func:`footprint_bytes`). After decoding it records the
        length and block checksums of the files in ``cache.json``.

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
        root = cache_folder(dataset, parent, size)
        if (root / "cache.json").is_file():
            # A damaged cache is rebuilt below, under the lock.
            with contextlib.suppress(DamagedCacheError):
                return cls(root)
        parent.mkdir(parents=True, exist_ok=True)
        # Processes that build the same cache at once (the ranks of a DDP run)
        # take turns: the first builds it, the others find it finished.
        with exclusive_lock(parent / f".{root.name}.lock"):
            if (root / "cache.json").is_file():
                try:
                    return cls(root)
                except DamagedCacheError as error:
                    # Derived data: the source images rebuild it as it was. Removed
                    # first, so that its bytes count as free for the new one.
                    print(
                        f"The uint8 image cache {root} is damaged ({error.damage}); "
                        "rebuilding it.",
                        flush=True,
                    )
                    shutil.rmtree(root)
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
            # The checksums were taken of these bytes as they were written: a
            # second pass over them would prove nothing and read the cache again.
            return cls(root, verify=False)

    def __getstate__(self) -> dict[str, Any]:
        # DataLoader workers started with "spawn" (macOS, Windows) unpickle the
        # dataset: send the folder and map the file again, not the pixels.
        state = self.__dict__.copy()
        del state["images"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # The process that pickled the cache checked its blocks when it opened it.
        self.images = _map_npy(self.root, "images.npy")

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


def cache_folder(
    dataset: LabeledImageFiles, cache_dir: str | os.PathLike[str], size: int
) -> Path:
    """The folder in ``cache_dir`` that holds, or will hold, a dataset's cache.

    Named by the size and a fingerprint of every file (path, byte size,
    modification time, label) and of the cache format, so that changed data gets
    a new cache.
    """
    fingerprint = dataset.fingerprint(f"{CACHE_FORMAT}:{size}")[:16]
    return Path(cache_dir) / f"uint8-{size}px-{fingerprint}"


def footprint_bytes(count: int, size: int) -> int:
    """The bytes a cache of ``count`` images of ``size x size`` pixels takes on disk.

    The uint8 pixels (``count * size * size * 3``), the int64 labels and the
    headers of the two ``.npy`` files; ``cache.json`` adds a few hundred bytes and
    about 15 for each block checksum (one per 16 MiB).

    Examples:
        >>> footprint_bytes(277_251, 112) / 1e9
        10.43...
    """
    return count * size * size * 3 + count * 8 + 2 * _NPY_HEADER_BYTES


def write_cache(
    folder: str | os.PathLike[str],
    size: int,
    classes: Sequence[str],
    count: int,
    batches: Iterable[tuple[NDArray[np.uint8], NDArray[np.int64]]],
) -> None:
    """Writes the files of a cache into ``folder`` from batches of images, in order.

    :meth:`UInt8ImageCache.build` writes the decoded images with it (into a
    staging folder it renames when done); the files, ``cache.json`` last, are
    those the constructor opens and checks.

    Args:
        folder: An existing folder, empty.
        size: Side of the images in pixels.
        classes: Class names.
        count: The number of images the batches hold in all.
        batches: ``(images, labels)``: uint8 ``(B, size, size, 3)`` and int64
            ``(B,)``.

    Raises:
        ValueError: If the batches hold another number of images.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> images = np.zeros((3, 4, 4, 3), dtype=np.uint8)
        >>> write_cache(folder, 4, ["a", "b"], 3, [(images, np.array([0, 1, 1]))])
        >>> UInt8ImageCache(folder).targets
        [0, 1, 1]
    """
    folder = Path(folder)
    images = np.lib.format.open_memmap(
        folder / "images.npy", mode="w+", dtype=np.uint8, shape=(count, size, size, 3)
    )
    labels = np.empty(count, dtype=np.int64)
    start = 0
    for batch_images, batch_labels in batches:
        stop = start + len(batch_labels)
        if stop > count:
            break
        images[start:stop] = batch_images
        labels[start:stop] = batch_labels
        start = stop
    if start != count:
        raise ValueError(f"the batches hold other than {count} images.")
    images.flush()
    del images
    np.save(folder / "labels.npy", labels)
    # Read back from the page cache: the checksums are of the bytes the files
    # hold, which is what opening the cache compares.
    checksums = {
        name: file_checksums(folder / name, CHECKSUM_BLOCK_BYTES).to_json()
        for name in CHECKED_FILES
    }
    meta = {
        "format": CACHE_FORMAT,
        "size": size,
        "count": count,
        "classes": list(classes),
        "checksums": checksums,
    }
    (folder / "cache.json").write_text(json.dumps(meta, indent=2) + "\n")


@dataclass(frozen=True)
class _CacheMeta:
    """What ``cache.json`` records."""

    size: int
    count: int
    classes: tuple[str, ...]
    checksums: dict[str, FileChecksums]

    @classmethod
    def read(cls, root: Path) -> "_CacheMeta":
        """Reads and validates ``root/cache.json``.

        Raises:
            FileNotFoundError: If there is none.
            DamagedCacheError: If it is unreadable or invalid.
        """
        path = root / "cache.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"{str(root)!r} is not a uint8 image cache: no cache.json."
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        # Undecodable bytes and invalid JSON are ValueErrors.
        except (OSError, ValueError) as error:
            raise DamagedCacheError(
                root, f"cache.json cannot be read as JSON ({error})"
            ) from error
        try:
            return cls._parse(data)
        except KeyError as error:
            reason = f"it has no {error.args[0]!r} entry"
        except (TypeError, ValueError) as error:
            reason = str(error)
        raise DamagedCacheError(root, f"cache.json is invalid: {reason}")

    @classmethod
    def _parse(cls, data: Any) -> "_CacheMeta":
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        if data["format"] != CACHE_FORMAT:
            raise ValueError(
                f"it gives format {data['format']!r}, this version reads format "
                f"{CACHE_FORMAT}"
            )
        size, count, classes = data["size"], data["count"], data["classes"]
        if not all(type(value) is int and value > 0 for value in (size, count)):
            raise ValueError("size and count must be positive integers")
        if not isinstance(classes, list) or not all(
            isinstance(name, str) for name in classes
        ):
            raise ValueError("classes must be a list of names")
        sums = data["checksums"]
        if not isinstance(sums, dict) or sorted(sums) != sorted(CHECKED_FILES):
            raise ValueError(f"checksums must cover {', '.join(CHECKED_FILES)}")
        return cls(
            size=size,
            count=count,
            classes=tuple(classes),
            checksums={name: FileChecksums.from_json(sums[name]) for name in sums},
        )


def _check_file(
    root: Path, name: str, expected: FileChecksums, meta: _CacheMeta, verify: bool
) -> None:
    """Raises :class:`DamagedCacheError` unless ``root/name`` is as it was built.

    The length always; with ``verify`` every block's checksum as well.
    """
    path = root / name
    try:
        length = path.stat().st_size
        check = verify and length == expected.size
        damaged = damaged_blocks(path, expected) if check else []
    except FileNotFoundError:
        raise DamagedCacheError(root, f"{name} is missing") from None
    # A failing disk answers reads with EIO.
    except OSError as error:
        raise DamagedCacheError(root, f"{name} cannot be read ({error})") from error
    if length != expected.size:
        cut = " (truncated)" if length < expected.size else ""
        raise DamagedCacheError(
            root,
            f"{name} is {length:,} bytes long, {expected.size:,} when it was "
            f"built{cut}",
        )
    if damaged:
        start, stop = expected.byte_range(damaged[0])
        where = f"bytes {start:,}-{stop - 1:,}"
        if name == "images.npy" and (held := _images_within(start, stop, meta)):
            where += f": {held}"
        more = f", and {len(damaged) - 1} more blocks" if len(damaged) > 1 else ""
        raise DamagedCacheError(
            root,
            f"{name} block {damaged[0] + 1} of {len(expected.crc32)} ({where}) "
            f"does not match its checksum from the build{more}",
        )


def _images_within(start: int, stop: int, meta: _CacheMeta) -> str:
    """What the bytes ``[start, stop)`` of ``images.npy`` hold, for a message.

    Empty if ``cache.json``'s count and size do not fit the file's length.
    """
    row_bytes = meta.size * meta.size * 3
    # The pixels fill the end of the file; the header is what comes before them.
    header = meta.checksums["images.npy"].size - meta.count * row_bytes
    if header <= 0:
        return ""
    parts = []
    if start < header:
        parts.append("the .npy header")
    if stop > header:
        first, last = (
            max(start - header, 0) // row_bytes,
            (stop - 1 - header) // row_bytes,
        )
        parts.append(f"images {first}-{last}")
    return " and ".join(parts)


# What numpy raises on damaged .npy headers: ValueError and EOFError mostly, the
# tokenizer's errors from its fallback parser of old headers, OSError on reads.
_NPY_ERRORS = (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError)


def _map_npy(root: Path, name: str) -> Any:
    """Maps ``root/name`` read-only; a damaged header raises DamagedCacheError."""
    # Mapped, not read: a damaged header claiming a huge shape fails on the file's
    # length instead of allocating that much memory.
    try:
        return np.load(root / name, mmap_mode="r")  # never unpickles
    except _NPY_ERRORS as error:
        raise DamagedCacheError(
            root,
            f"{name} is not a readable .npy array (its header is damaged or the file "
            "is cut short)",
        ) from error


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
    loader = DataLoader(
        _Resized(dataset, size),
        batch_size=256,
        num_workers=num_workers,
        collate_fn=_stack,
    )
    write_cache(folder, size, dataset.classes, len(dataset), loader)
