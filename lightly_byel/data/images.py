"""Labelled image files: RGB loading and a dataset that survives unreadable files."""

import hashlib
import operator
import os
import re
import struct
from collections.abc import Callable, Sequence
from typing import Any, SupportsIndex

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from lightly_byel.utils.user_warnings import warn_user

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
)
"""File extensions read as images, lower case; names are matched in any case."""

IGNORED_FOLDERS = frozenset({"__MACOSX"})
"""Folders that archive tools add and that hold no images (hidden ones neither)."""

MAX_NAMED = 5
"""How many names a message quotes at most, see :func:`count_and_names`."""

UNREADABLE: tuple[type[Exception], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)
"""What Pillow raises on files that are not (complete, sane) images: ``OSError``
covers missing, unidentified and truncated files; the others come from damaged
headers."""

_DIGITS = re.compile(r"(\d+)")

# Leading bytes of JPEG, PNG, BMP and TIFF (little- and big-endian) files; WebP is
# RIFF....WEBP (see has_image_header).
_SIGNATURES = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)

FaceBox = tuple[float, float, float, float]
"""A region of an image in pixels: ``(left, top, right, bottom)``, as Pillow crops."""


def is_image_name(name: str) -> bool:
    """Tells whether a file name has an image extension and is not hidden.

    Examples:
        >>> [is_image_name(n) for n in ("0.jpg", "7.JPEG", "Thumbs.db", "._0.jpg")]
        [True, True, False, False]
    """
    # Slicing at the last dot is several times faster than os.path.splitext, which
    # counts when indexing hundreds of thousands of files.
    return not name.startswith(".") and name[name.rfind(".") :].lower() in (
        IMAGE_EXTENSIONS
    )


def natural_key(name: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key that orders the numbers inside names by value.

    Ties between names that only differ in leading zeros (``12`` and ``0012``) are
    broken by the name itself, so the order is total and deterministic.

    Examples:
        >>> sorted(["10.jpg", "2.jpg", "video1", "1.jpg", "video10", "video2"],
        ...        key=natural_key)
        ['1.jpg', '2.jpg', '10.jpg', 'video1', 'video2', 'video10']
    """
    # re.split puts text at even and digit runs at odd positions, so keys of any
    # two names compare text with text and numbers with numbers.
    parts = _DIGITS.split(name)
    return (
        tuple(int(part) if i % 2 else part for i, part in enumerate(parts)),
        name,
    )


def to_rgb(image: Image.Image) -> Image.Image:
    """Converts an image of any Pillow mode to a new RGB image.

    Transparent pixels (RGBA, LA, PA, or a palette or grayscale image with a
    transparent colour) are composited on black, the colour of the borders of
    aligned face crops. 16- and 32-bit grayscale (``I;16``, ``I``) is scaled from
    ``[0, 65535]`` to ``[0, 255]``; Pillow would clip it instead. Every other mode
    (L, P, CMYK, YCbCr, ...) goes through Pillow's conversion.

    Examples:
        >>> to_rgb(Image.new("LA", (1, 1), (200, 0))).getpixel((0, 0))
        (0, 0, 0)
        >>> to_rgb(Image.new("I;16", (1, 1), 65535)).getpixel((0, 0))
        (255, 255, 255)
        >>> to_rgb(Image.new("CMYK", (1, 1), (0, 255, 255, 0))).getpixel((0, 0))
        (255, 0, 0)
    """
    if image.mode == "I" or image.mode.startswith("I;16"):
        values = np.asarray(image).astype(np.int64)
        image = Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8))
    if "A" in image.getbands() or "transparency" in image.info:
        rgba = image.convert("RGBA")
        rgb = Image.new("RGB", rgba.size)
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        return rgb
    return image.convert("RGB")


def load_rgb(path: str | os.PathLike[str]) -> Image.Image:
    """Reads an image file completely and returns it as RGB (see :func:`to_rgb`).

    Raises:
        OSError: If the file is missing, not an image or truncated; Pillow may also
            raise the other errors of damaged files (``SyntaxError``, ...).

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "0.png")
        >>> Image.new("P", (4, 3)).save(path)
        >>> image = load_rgb(path)
        >>> image.mode, image.size
        ('RGB', (4, 3))
        >>> tmp.cleanup()
    """
    with Image.open(path) as image:
        image.load()
        return to_rgb(image)


def crop_region(image: Image.Image, box: FaceBox) -> Image.Image:
    """Cuts a region out of an image; parts outside the image are black.

    The box is rounded to whole pixels. Black is the colour of the borders of
    aligned face crops, where a face near the edge is padded the same way.

    Examples:
        >>> image = Image.new("RGB", (10, 10), (255, 255, 255))
        >>> crop = crop_region(image, (5.2, -2, 13, 6))
        >>> crop.size, [crop.getpixel(xy) for xy in ((0, 0), (0, 5), (7, 5))]
        ((8, 8), [(0, 0, 0), (255, 255, 255), (0, 0, 0)])
    """
    # The size is rounded, not each edge, so that a square box gives a square.
    left, top = round(box[0]), round(box[1])
    width, height = round(box[2] - box[0]), round(box[3] - box[1])
    return image.crop((left, top, left + max(width, 1), top + max(height, 1)))


def is_readable(path: str | os.PathLike[str], decode: bool = False) -> bool:
    """Tells whether Pillow can read a file as an image.

    Args:
        path: The image file.
        decode: Whether to decode every pixel. Without it only the header is parsed
            and checked, which is much faster and catches missing, empty and
            non-image files, but not truncated ones.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "0.jpg")
        >>> with open(path, "wb") as file:
        ...     _ = file.write(b"not an image")
        >>> is_readable(path), is_readable(os.path.join(tmp.name, "missing.jpg"))
        (False, False)
        >>> tmp.cleanup()
    """
    try:
        if decode:
            load_rgb(path)
        else:
            with Image.open(path) as image:
                image.verify()
    except UNREADABLE:
        return False
    return True


def has_image_header(path: str | os.PathLike[str]) -> bool:
    """Tells whether a file starts like a JPEG, PNG, BMP, TIFF or WebP image.

    Reads the first 12 bytes only, so checking hundreds of thousands of files takes
    seconds. Catches empty files, missing files and files that are not images
    (HTML error pages, random bytes); a truncated image passes.

    Examples:
        >>> import os, tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "0.jpg")
        >>> Image.new("RGB", (4, 4)).save(path)
        >>> has_image_header(path), has_image_header(os.path.join(tmp.name, "1.jpg"))
        (True, False)
        >>> tmp.cleanup()
    """
    try:
        with open(path, "rb") as file:
            head = file.read(12)
    except OSError:
        return False
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:] == b"WEBP")


class LabeledImageFiles(Dataset[tuple[Any, int]]):
    """A dataset of labelled image files that never fails on an unreadable file.

    Items are ``(image, label)``: the file read as an RGB PIL image (see
    :func:`to_rgb`), or ``transform(image)``, and the class index. Indexing a
    dataset decodes no image, so a file that is damaged, truncated or not an image
    at all shows up only when it is loaded. Then the item is replaced by the next
    readable sample (``index + 1``, ``index + 2``, ... wrapping around), image and
    label together, so the same index always gives the same item. Samples are
    sorted by class, so the replacement nearly always has the same label. The file
    is recorded in :attr:`bad_files` and :attr:`replaced_files` and never opened
    again, and each load that meets new unreadable files warns, naming every one of
    them and the file that replaced them, so a run's log lists every replaced image.

    Files that do not even start like an image (empty files, HTML error pages,
    random bytes) are left out when the dataset is made, with one warning that
    counts and names them (``check_headers``, on by default, reads 12 bytes a file).
    :meth:`verify` finds the remaining unreadable files, such as truncated ones, up
    front and drops them too.

    With ``DataLoader(num_workers > 0)`` every worker process holds its own copy of
    the dataset: each worker records and warns about the files it meets, and the
    records (:attr:`bad_files`, :attr:`replaced_files`) never reach the main
    process; the warnings do reach the log. Call :meth:`verify` before training to
    know every bad file.

    A sample may show only a region of its file (``boxes``: a face in a photo,
    cut out with :func:`crop_region`), so one file can hold several samples, and
    may name the person it shows (``subjects``), so that results can be grouped
    by person. Both lists stay in step with :attr:`samples` when files are left
    out or dropped.

    Attributes:
        classes: Class names in label order.
        class_to_idx: Label of each class name.
        samples: ``(path, label)`` of every sample, in a deterministic order.
        targets: The label of every sample.
        boxes: The region of its file each sample shows (``None``: the whole
            image), or ``None`` when every sample is a whole file.
        subjects: The person each sample shows, or ``None`` where unknown.
        transform: Applied to each RGB image, or ``None``.

    Examples:
        >>> import os, tempfile, warnings
        >>> tmp = tempfile.TemporaryDirectory()
        >>> paths = [os.path.join(tmp.name, name) for name in ("a.png", "b.png")]
        >>> Image.new("L", (8, 8)).save(paths[0])
        >>> with open(paths[1], "wb") as file:
        ...     _ = file.write(b"")
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     dataset = LabeledImageFiles([(paths[0], 0), (paths[1], 1)], ["x", "y"])
        >>> print(caught[0].message)
        LabeledImageFiles: left out 1 non-image file ('.../b.png'), kept 1 of 2
        samples.
        >>> image, label = dataset[0]
        >>> image.mode, label, dataset.targets
        ('RGB', 0, [0])
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        samples: Sequence[tuple[str, int]],
        classes: Sequence[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
        *,
        boxes: Sequence[FaceBox | None] | None = None,
        subjects: Sequence[str | None] | None = None,
    ) -> None:
        """Wraps the samples.

        Args:
            samples: ``(path, label)`` of every sample.
            classes: Class names in label order.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out, with one warning, the files that do
                not start like an image (see :func:`has_image_header`).
            boxes: The region of its file each sample shows, ``None`` for a whole
                file; ``None`` for whole files only.
            subjects: The person each sample shows, ``None`` where unknown.

        Raises:
            ValueError: If there are no samples, a label does not index
                ``classes``, ``boxes`` or ``subjects`` has another length than
                ``samples``, or no file starts like an image.
        """
        if not samples:
            raise ValueError(f"{type(self).__name__} needs at least one sample.")
        for path, label in samples:
            if not 0 <= label < len(classes):
                raise ValueError(
                    f"label {label!r} of {path!r} does not index the "
                    f"{len(classes)} classes {list(classes)}."
                )
        for name, values in (("boxes", boxes), ("subjects", subjects)):
            if values is not None and len(values) != len(samples):
                raise ValueError(
                    f"{name} has {len(values)} entries for {len(samples)} samples."
                )
        self.classes = list(classes)
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = list(samples)
        self.targets = [label for _, label in self.samples]
        self.boxes = None if boxes is None else list(boxes)
        self.subjects = None if subjects is None else list(subjects)
        self.transform = transform
        if check_headers:
            self._keep(_with_image_headers(self.samples, type(self).__name__))
        # A dict as an ordered set: quick lookups, and reports in the order found.
        self._bad: dict[str, None] = {}
        self._replaced: dict[str, None] = {}

    @property
    def bad_files(self) -> list[str]:
        """Unreadable files found so far, by :meth:`verify` or by loading."""
        return list(self._bad)

    @property
    def replaced_files(self) -> list[str]:
        """Files replaced by the next readable sample at load time, in this process.

        In the order they were first met, each once. Files only dropped by
        :meth:`verify` are not listed: no item ever stood in for them.
        """
        return list(self._replaced)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: SupportsIndex) -> tuple[Any, int]:
        """Returns ``(image, label)`` of a sample, or of its readable replacement.

        Raises:
            IndexError: If the index is out of range.
            ValueError: If no file of the dataset can be read.
        """
        position = operator.index(index)
        size = len(self.samples)
        if not -size <= position < size:
            raise IndexError(f"index {position} is out of range for {size} samples.")
        failures: list[str] = []
        for offset in range(size):
            current = (position + offset) % size
            path, label = self.samples[current]
            if path in self._bad:
                continue
            try:
                image = self.read_image(current)
            except UNREADABLE:
                self._bad[path] = None
                failures.append(path)
                continue
            if failures:
                self._replaced.update(dict.fromkeys(failures))
                bad = count_and_names(failures, "unreadable image files", limit=None)
                warn_user(
                    f"{type(self).__name__}: replaced {bad} by the next readable "
                    f"sample {path!r}. All replaced files are listed in "
                    ".replaced_files; call .verify() to drop unreadable files up "
                    "front.",
                )
            return (image if self.transform is None else self.transform(image)), label
        raise ValueError(
            f"{type(self).__name__}: none of the {size} files can be read as an "
            f"image, e.g. {self.samples[0][0]!r}."
        )

    def read_image(self, index: int) -> Image.Image:
        """Reads the RGB image of a sample, its region only if it has a box.

        No transform is applied and nothing is recorded; an unreadable file raises
        (see :func:`load_rgb`).
        """
        image = load_rgb(self.samples[index][0])
        box = None if self.boxes is None else self.boxes[index]
        return image if box is None else crop_region(image, box)

    def is_readable(self, index: int, decode: bool = False) -> bool:
        """Tells whether a sample's image can be read (see :func:`is_readable`)."""
        return is_readable(self.samples[index][0], decode=decode)

    def verify(self, decode: bool = False) -> list[str]:
        """Drops the samples whose file cannot be read as an image.

        Opens every file, so it takes a while on a large dataset (the header check
        reads only the start of each file). Warns once if it drops any.

        Args:
            decode: Whether to decode every pixel, which also finds truncated
                files, at several times the cost. See :func:`is_readable`.

        Returns:
            The paths of the dropped samples, in sample order.

        Raises:
            ValueError: If no readable file is left.
        """
        # A dict as an ordered set: files in sample order, each once. A file that
        # several samples show (faces in one photo) is opened once.
        readable: dict[str, bool] = {}
        for index, (path, _) in enumerate(self.samples):
            if path not in readable:
                known_bad = path in self._bad
                readable[path] = not known_bad and self.is_readable(index, decode)
        unreadable = {path: None for path, ok in readable.items() if not ok}
        if not unreadable:
            return []
        self._bad.update(unreadable)
        dropped = [path for path, _ in self.samples if path in unreadable]
        kept = [i for i, (path, _) in enumerate(self.samples) if path not in unreadable]
        if not kept:
            raise ValueError(
                f"{type(self).__name__}: none of the {len(dropped)} files can be "
                f"read as an image, e.g. {dropped[0]!r}."
            )
        bad = count_and_names(dropped, "unreadable image files")
        warn_user(
            f"{type(self).__name__}: dropped {bad}, kept {len(kept)} of "
            f"{len(self.samples)} samples.",
        )
        self._keep(kept)
        return dropped

    def _keep(self, indices: Sequence[int]) -> None:
        """Keeps only the samples at ``indices``, with their boxes and subjects."""
        if len(indices) == len(self.samples):
            return
        self.samples = [self.samples[i] for i in indices]
        self.targets = [label for _, label in self.samples]
        if self.boxes is not None:
            self.boxes = [self.boxes[i] for i in indices]
        if self.subjects is not None:
            self.subjects = [self.subjects[i] for i in indices]

    def fingerprint(self, salt: str = "") -> str:
        """A hash of every sample's path, byte size, modification time and label.

        Editing, replacing, adding or removing a file, or relabelling one, changes
        it, and so does moving a sample's box; ``salt`` goes into the hash first
        (what the hash is for).

        Raises:
            FileNotFoundError: If a file of the dataset no longer exists.
        """
        digest = hashlib.sha256(salt.encode())
        for index, (path, label) in enumerate(self.samples):
            stat = os.stat(path)
            line = f"\n{path}\t{label}\t{stat.st_size}\t{stat.st_mtime_ns}"
            box = None if self.boxes is None else self.boxes[index]
            if box is not None:
                # All digits: boxes that differ past 6 digits may still crop apart.
                line += "\t" + ",".join(repr(float(value)) for value in box)
            digest.update(line.encode())
        return digest.hexdigest()

    def _repr_fields(self) -> list[str]:
        """The ``name=value`` fields the repr shows before the sample counts."""
        return []

    def __repr__(self) -> str:
        counts = [f"{n}={c}" for n, c in self.class_counts().items()]
        fields = [*self._repr_fields(), f"samples={len(self)}", *counts]
        return f"{type(self).__name__}({', '.join(fields)})"

    def class_counts(self) -> dict[str, int]:
        """Returns the number of samples of every class, in label order.

        Classes without samples count zero, so class-balancing weights can be
        computed from the counts in any split.
        """
        counts = np.bincount(self.targets, minlength=len(self.classes))
        return {
            name: int(count) for name, count in zip(self.classes, counts, strict=True)
        }


def _with_image_headers(samples: Sequence[tuple[str, int]], owner: str) -> list[int]:
    """The indices of samples whose file starts like an image; warns once if any not.

    A file that several samples show (faces in one photo) is read once.
    """
    starts_like_image: dict[str, bool] = {}
    kept: list[int] = []
    left_out: list[str] = []
    for index, (path, _) in enumerate(samples):
        if path not in starts_like_image:
            starts_like_image[path] = has_image_header(path)
            if not starts_like_image[path]:
                left_out.append(path)
        if starts_like_image[path]:
            kept.append(index)
    if not left_out:
        return kept
    bad = count_and_names(left_out, "non-image files")
    if not kept:
        raise ValueError(
            f"{owner}: none of the {len(samples)} files is an image: {bad}."
        )
    warn_user(
        f"{owner}: left out {bad}, kept {len(kept)} of {len(samples)} samples.",
    )
    return kept


def count_and_names(
    names: Sequence[str], noun: str, limit: int | None = MAX_NAMED
) -> str:
    """Summarises names for a message: their count, noun, and the first few names.

    Args:
        names: File or folder names.
        noun: What they are, in the plural; an ``s`` at its end is dropped for one.
        limit: How many names to quote at most; ``None`` quotes all of them.

    Examples:
        >>> count_and_names(["a.jpg"], "unreadable files")
        "1 unreadable file ('a.jpg')"
        >>> count_and_names([f"{i}.jpg" for i in range(7)], "files")
        "7 files ('0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg' and 2 more)"
        >>> count_and_names([f"{i}.jpg" for i in range(7)], "files", limit=None)
        "7 files ('0.jpg', '1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg', '6.jpg')"
    """
    shown = names if limit is None else names[:limit]
    named = ", ".join(repr(name) for name in shown)
    more = f" and {len(names) - len(shown)} more" if len(shown) < len(names) else ""
    if len(names) == 1:
        noun = noun.removesuffix("s")
    return f"{len(names)} {noun} ({named}{more})"


def image_files_below(folder: str) -> list[str]:
    """Lists the image files in and below ``folder`` in natural order.

    Hidden entries and :data:`IGNORED_FOLDERS` are passed over, links to files
    are followed and links to folders are not, so a link loop cannot trap the
    scan. A link whose target is gone is listed, so that the header check of
    :class:`LabeledImageFiles` leaves it out by name instead of passing over it
    silently.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     os.makedirs(os.path.join(tmp, "a", ".hidden"))
        ...     for name in ("10.jpg", "2.png", "a/1.jpg", "a/.hidden/0.jpg", "x.txt"):
        ...         open(os.path.join(tmp, name), "w").close()
        ...     [os.path.relpath(path, tmp) for path in image_files_below(tmp)]
        ['2.png', '10.jpg', 'a/1.jpg']
    """
    found: list[tuple[str, str]] = []
    # Paths relative to ``folder``: "" for the folder itself, "sub/" below it.
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(os.path.join(folder, relative)) as entries:
            for entry in entries:
                listed = entry.is_file() or entry.is_symlink()
                if is_image_name(entry.name) and listed:
                    found.append((relative + entry.name, entry.path))
                elif (
                    not entry.name.startswith(".")
                    and entry.name not in IGNORED_FOLDERS
                    and entry.is_dir(follow_symlinks=False)
                ):
                    pending.append(relative + entry.name + os.sep)
    found.sort(key=lambda item: natural_key(item[0]))
    return [path for _, path in found]
