"""RAF-DB basic emotions, read from the release's list and aligned images."""

import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.expression_dataset import (
    Entry,
    ExpressionDataset,
    code_of,
    index_lines,
    locate,
)

RAFDB_CODES: dict[int, int | str] = {
    1: 5,  # Surprise
    2: 2,  # Fear
    3: 1,  # Disgust
    4: 3,  # Happiness
    5: 4,  # Sadness
    6: 0,  # Anger
    7: "neutral",
}
"""LSD label, or the reason left out, of each RAF-DB basic code."""

LIST_FILES = (
    "EmoLabel/list_patition_label.txt",
    "EmoLabel/list_partition_label.txt",
    "basic/EmoLabel/list_patition_label.txt",
    "basic/EmoLabel/list_partition_label.txt",
)
"""Where the label list is found; the release spells it ``patition``."""


class RAFDB(ExpressionDataset):
    r"""The basic-emotion set of RAF-DB, ``EmoLabel`` and ``Image/aligned``.

    ``EmoLabel/list_patition_label.txt`` lists ``train_00001.jpg 5`` a line; the
    aligned faces are ``Image/aligned/train_00001_aligned.jpg`` (or, with
    ``aligned=False``, ``Image/original/train_00001.jpg``). Codes 1-6 (surprise,
    fear, disgust, happiness, sadness, anger) become LSD labels; 7 (neutral) is
    left out and counted. ``root`` is the ``basic`` folder or the one above it.

    Attributes:
        list_file: The label list read.
        split: ``"test"``, ``"train"``, or ``None`` for both.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(tmp.name, "EmoLabel"))
        >>> os.makedirs(os.path.join(tmp.name, "Image", "aligned"))
        >>> with open(os.path.join(tmp.name, "EmoLabel",
        ...                        "list_patition_label.txt"), "w") as file:
        ...     _ = file.write("train_00001.jpg 1\ntest_0001.jpg 6\ntest_0002.jpg 7")
        >>> for name in ("train_00001", "test_0001", "test_0002"):
        ...     Image.new("RGB", (100, 100)).save(
        ...         os.path.join(tmp.name, "Image", "aligned", f"{name}_aligned.jpg"))
        >>> dataset = RAFDB(tmp.name)
        >>> [os.path.basename(path) for path, _ in dataset.samples], dataset.targets
        (['test_0001_aligned.jpg'], [0])
        >>> dataset.skipped
        {'neutral': 1}
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str | None = "test",
        aligned: bool = True,
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads the list and finds the images of ``split``.

        Args:
            root: The ``basic`` folder, or the folder holding it.
            split: ``"test"`` (the 3,068 test faces), ``"train"``, or ``None``.
            aligned: Whether to read the aligned 100x100 faces (as published
                results do) rather than the original photos.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out the files that do not start like
                an image.

        Raises:
            FileNotFoundError: If the list or the image folder is missing.
            ValueError: If ``split`` is unknown, a line is malformed (the message
                names the file and line), or no face is left.
        """
        if split not in ("train", "test", None):
            raise ValueError(f"split must be 'train', 'test' or None, got {split!r}.")
        self.split = split
        self.list_file = locate(root, LIST_FILES, "RAF-DB label list")
        base = os.path.dirname(os.path.dirname(self.list_file))
        folder = "aligned" if aligned else "original"
        images = locate(base, [os.path.join("Image", folder)], "RAF-DB images")
        entries = []
        for number, fields in index_lines(self.list_file):
            where = f"{self.list_file}, line {number}"
            if len(fields) != 2:
                raise ValueError(f"{where}: expected '<image> <code>', got {fields}.")
            name, code = fields
            if split is not None and not name.startswith(f"{split}_"):
                continue
            stem, extension = os.path.splitext(name)
            file = f"{stem}_aligned{extension}" if aligned else name
            label = code_of(code, RAFDB_CODES, where)
            entries.append(Entry(os.path.join(images, file), label))
        super().__init__(root, entries, transform, check_headers)
