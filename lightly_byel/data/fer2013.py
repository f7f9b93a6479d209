"""FER2013 (``fer2013.csv``) and its relabelling FER+ (``fer2013new.csv``).

FER2013 ships no image files: every 48x48 grey face is a row of
``fer2013.csv``, ``emotion,pixels,Usage``, its 2,304 pixel values separated by
spaces. FER+ relabels the same rows by ten annotators' votes, in the same order,
in ``fer2013new.csv``. A sample's path is ``<fer2013.csv>#fer<row>``, the row
counted from 0 and written as FER+ names its images (``fer0000000``).
"""

import csv
import hashlib
import os
import warnings
from collections.abc import Callable, Collection, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from lightly_byel.data.expression_dataset import Entry, ExpressionDataset, locate

FER2013_CODES: dict[int, int | str] = {
    0: 0,  # Angry
    1: 1,  # Disgust
    2: 2,  # Fear
    3: 3,  # Happy
    4: 4,  # Sad
    5: 5,  # Surprise
    6: "neutral",
}
"""LSD label, or the reason left out, of each FER2013 ``emotion`` code."""

FERPLUS_VOTES: dict[str, int | str] = {
    "neutral": "neutral",
    "happiness": 3,
    "surprise": 5,
    "sadness": 4,
    "anger": 0,
    "disgust": 1,
    "fear": 2,
    "contempt": "contempt",
    "unknown": "unknown",
    "NF": "no_face",
}
"""LSD label, or the reason left out, of each FER+ vote column, in file order."""

USAGES = ("Training", "PublicTest", "PrivateTest")
"""The ``Usage`` values of both files: training, validation and test rows."""

SIDE = 48
"""FER2013 faces are ``SIDE`` x ``SIDE`` grey pixels."""


class FER2013(ExpressionDataset):
    r"""FER2013 faces, from the pixels in ``fer2013.csv``.

    Codes 0-5 (angry, disgust, fear, happy, sad, surprise) are LSD labels 0-5;
    6 (neutral) is left out and counted in :attr:`skipped`. Images are the grey
    pixels as RGB. ``root`` is the CSV file or a folder holding it (or holding
    ``fer2013/fer2013.csv``, as the archive unpacks).

    Attributes:
        csv_file: The ``fer2013.csv`` read.
        usage: The ``Usage`` values kept, ``None`` for every row.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> rows = [(3, "PrivateTest"), (6, "PrivateTest"), (0, "Training")]
        >>> with open(os.path.join(tmp.name, "fer2013.csv"), "w") as file:
        ...     _ = file.write("emotion,pixels,Usage\n")
        ...     for code, usage in rows:
        ...         _ = file.write(f"{code},{' '.join(['128'] * 2304)},{usage}\n")
        >>> dataset = FER2013(tmp.name)
        >>> [os.path.basename(path) for path, _ in dataset.samples], dataset.targets
        (['fer2013.csv#fer0000000'], [3])
        >>> dataset.skipped, dataset[0][0].size
        ({'neutral': 1}, (48, 48))
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        usage: str | Collection[str] | None = "PrivateTest",
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        """Reads the rows of ``usage``.

        Args:
            root: ``fer2013.csv`` or a folder holding it.
            usage: The ``Usage`` values to keep (``"PrivateTest"``, the test rows,
                by default), ``None`` for every row.
            transform: Applied to each RGB image, or ``None``.

        Raises:
            FileNotFoundError: If there is no ``fer2013.csv``.
            ValueError: If a row is malformed (the message names the file and
                line), or no face of the six classes is left.
        """
        self.csv_file = _csv_file(root, "fer2013.csv")
        self.usage = _usages(usage)
        self._pixels: dict[int, NDArray[np.uint8]] = {}
        super().__init__(
            root, self._index(), transform, check_headers=False, check_files=False
        )

    def _index(self) -> list[Entry]:
        """The entries of the kept rows; keeps their pixels."""
        entries = []
        for row, line, record in _records(self.csv_file, ("emotion", "pixels")):
            if not _used(record, self.usage):
                continue
            emotion = record["emotion"].strip()
            if not emotion.isdecimal() or int(emotion) not in FER2013_CODES:
                raise ValueError(
                    f"{self.csv_file}, line {line}: expected an emotion code "
                    f"{sorted(FER2013_CODES)}, got {record['emotion']!r}."
                )
            self._pixels[row] = _pixels(record["pixels"], self.csv_file, line)
            entries.append(Entry(self._path(row), FER2013_CODES[int(emotion)]))
        return entries

    def _path(self, row: int) -> str:
        return f"{self.csv_file}#fer{row:07d}"

    def read_image(self, index: int) -> Image.Image:
        """The face of a sample as an RGB image (grey in all three channels)."""
        row = int(self.samples[index][0].rsplit("#fer", 1)[1])
        return Image.fromarray(self._pixels[row]).convert("RGB")

    def is_readable(self, index: int, decode: bool = False) -> bool:
        """Always: every row's pixels were checked when the file was read."""
        return True

    def fingerprint(self, salt: str = "") -> str:
        """A hash of the CSV file's path, size and time, the rows and the labels."""
        stat = os.stat(self.csv_file)
        digest = hashlib.sha256(salt.encode())
        digest.update(f"{self.csv_file}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
        for path, label in self.samples:
            digest.update(f"\n{path}\t{label}".encode())
        return digest.hexdigest()


class FERPlus(FER2013):
    r"""FER2013 faces with the FER+ labels of ``fer2013new.csv``, by majority vote.

    Each row of ``fer2013new.csv`` counts ten annotators' votes for neutral,
    happiness, surprise, sadness, anger, disgust, fear, contempt, unknown and NF
    (not a face). A face takes the class with the most votes; it is left out and
    counted in :attr:`skipped` when that is neutral, contempt, unknown or NF
    (``no_face``, as are rows without an image name), or when two classes tie
    (``tie``). The rows of both files must match one to one.

    ``root`` holds both files (``fer2013.csv`` also in ``fer2013/``); the usage
    filter reads the ``Usage`` column of ``fer2013new.csv``.

    Attributes:
        labels_file: The ``fer2013new.csv`` read.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> pixels = " ".join(["0"] * 2304)
        >>> with open(os.path.join(tmp.name, "fer2013.csv"), "w") as file:
        ...     _ = file.write(f"emotion,pixels,Usage\n6,{pixels},PrivateTest\n")
        ...     _ = file.write(f"0,{pixels},PrivateTest\n")
        >>> with open(os.path.join(tmp.name, "fer2013new.csv"), "w") as file:
        ...     _ = file.write("Usage,Image name,neutral,happiness,surprise,sadness,"
        ...                    "anger,disgust,fear,contempt,unknown,NF\n"
        ...                    "PrivateTest,fer0000000,2,6,0,0,0,0,0,0,2,0\n"
        ...                    "PrivateTest,fer0000001,0,0,0,0,4,4,2,0,0,0\n")
        >>> dataset = FERPlus(tmp.name)
        >>> dataset.targets, dataset.skipped
        ([3], {'tie': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        usage: str | Collection[str] | None = "PrivateTest",
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        """Reads the rows of ``usage`` and their votes.

        Args:
            root: The folder holding ``fer2013.csv`` and ``fer2013new.csv``.
            usage: The ``Usage`` values to keep (the test rows by default),
                ``None`` for every row.
            transform: Applied to each RGB image, or ``None``.

        Raises:
            FileNotFoundError: If a file is missing.
            ValueError: If a row is malformed (the message names the file and
                line), the files' rows do not match, or no face is left.
        """
        self.labels_file = _csv_file(root, "fer2013new.csv")
        super().__init__(root, usage, transform)

    def _index(self) -> list[Entry]:
        """The entries of the kept rows, labelled by vote; keeps their pixels."""
        pixel_rows = list(_records(self.csv_file, ("pixels",)))
        votes = list(_records(self.labels_file, tuple(FERPLUS_VOTES)))
        if len(votes) != len(pixel_rows):
            raise ValueError(
                f"{self.labels_file} has {len(votes)} rows and {self.csv_file} "
                f"{len(pixel_rows)}; FER+ labels the FER2013 rows one to one."
            )
        entries = []
        for (row, line, record), (_, pixel_line, pixels) in zip(
            votes, pixel_rows, strict=True
        ):
            if not _used(record, self.usage):
                continue
            label = _majority(record, self.labels_file, line)
            if not isinstance(label, str):
                self._pixels[row] = _pixels(pixels["pixels"], self.csv_file, pixel_line)
            entries.append(Entry(self._path(row), label))
        return entries


def _majority(record: dict[str, str], name: str, line: int) -> int | str:
    """The label (or reason left out) with the most votes; ``"tie"`` for a tie."""
    if not (record.get("Image name") or "").strip():
        return "no_face"
    try:
        counts = {column: float(record[column]) for column in FERPLUS_VOTES}
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}, line {line}: expected vote counts in the columns "
            f"{list(FERPLUS_VOTES)}."
        ) from None
    most = max(counts.values())
    winners = [column for column, count in counts.items() if count == most]
    return "tie" if len(winners) > 1 else FERPLUS_VOTES[winners[0]]


def _used(record: dict[str, str], usages: frozenset[str] | None) -> bool:
    """Whether a row's ``Usage`` is among those kept (``None``: every row)."""
    return usages is None or (record.get("Usage") or "").strip() in usages


def _csv_file(root: str | os.PathLike[str], name: str) -> str:
    path = os.fspath(root)
    if os.path.isfile(path) and os.path.basename(path) == name:
        return path
    if os.path.isfile(path):
        path = os.path.dirname(path) or "."
    return locate(path, [name, os.path.join("fer2013", name)], name)


def _usages(usage: str | Collection[str] | None) -> frozenset[str] | None:
    if usage is None:
        return None
    chosen = frozenset([usage] if isinstance(usage, str) else usage)
    if not chosen or not chosen <= set(USAGES):
        raise ValueError(f"usage must be among {list(USAGES)}, got {sorted(chosen)}.")
    return chosen


def _records(
    name: str, columns: tuple[str, ...]
) -> Iterator[tuple[int, int, dict[str, str]]]:
    """Yields ``(row, line, record)`` of a CSV file with the named columns."""
    with open(name, newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{name}, line 1: expected the columns {list(columns)}, missing "
                f"{missing} in {reader.fieldnames}."
            )
        for row, record in enumerate(reader):
            yield row, reader.line_num, record


def _pixels(text: str, name: str, line: int) -> NDArray[np.uint8]:
    """The ``SIDE`` x ``SIDE`` face of a ``pixels`` field."""
    with warnings.catch_warnings():
        # NumPy only warns (and stops early) on text that is not a number.
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            values = np.empty(0, dtype=np.int64)
    if values.size != SIDE * SIDE or values.min() < 0 or values.max() > 255:
        raise ValueError(
            f"{name}, line {line}: expected {SIDE * SIDE} pixel values from 0 to "
            f"255 separated by spaces, got {text[:40]!r}..."
        )
    return values.astype(np.uint8).reshape(SIDE, SIDE)
