"""AffectNet's manually annotated images, cut out by their face boxes."""

import csv
import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.expression_dataset import (
    Entry,
    ExpressionDataset,
    code_of,
    locate,
)
from lightly_byel.data.face_framing import square_box

AFFECTNET_CODES: dict[int, int | str] = {
    0: "neutral",
    1: 3,  # Happiness
    2: 4,  # Sadness
    3: 5,  # Surprise
    4: 2,  # Fear
    5: 1,  # Disgust
    6: 0,  # Anger
    7: "contempt",
    8: "none",
    9: "uncertain",
    10: "no_face",
}
"""LSD label, or the reason left out, of each AffectNet ``expression`` code."""

COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
"""The columns of the lists, in order; ``validation.csv`` comes without header."""


class AffectNet(ExpressionDataset):
    r"""AffectNet's manually annotated faces, ``training.csv`` or ``validation.csv``.

    Each row names an image under ``Manually_Annotated_Images`` and its face box
    (``face_x``, ``face_y``, ``face_width``, ``face_height``). The box is made
    square on its longer side and scaled by ``box_scale`` (see
    :func:`~lightly_byel.data.face_framing.square_box`); parts outside the image
    are black. Codes 1-6 (happy, sad, surprise, fear, disgust, anger) become LSD
    labels; 0 neutral, 7 contempt, 8 none, 9 uncertain and 10 no-face are left
    out and counted. The lists are found in ``root`` or its
    ``Manually_Annotated_file_lists``, with or without the header line.

    Attributes:
        list_file: The list read.
        images: The image folder.
        box_scale: The crop's side over the face box's longer side.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(tmp.name, "Manually_Annotated_Images", "1"))
        >>> Image.new("RGB", (60, 40)).save(
        ...     os.path.join(tmp.name, "Manually_Annotated_Images", "1", "a.jpg"))
        >>> with open(os.path.join(tmp.name, "validation.csv"), "w") as file:
        ...     _ = file.write('1/a.jpg,10,5,20,30,"1;2",6,-0.5,0.6\n'
        ...                    '1/a.jpg,0,0,60,40,"1;2",7,0.1,0.2\n')
        >>> dataset = AffectNet(tmp.name)
        >>> dataset.targets, dataset.boxes, dataset.skipped
        ([0], [(5.0, 5.0, 35.0, 35.0)], {'contempt': 1})
        >>> dataset[0][0].size
        (30, 30)
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "validation",
        box_scale: float = 1.0,
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads the list of ``split``.

        Args:
            root: The AffectNet folder.
            split: ``"validation"`` (the evaluation set) or ``"training"``.
            box_scale: The crop's side over the face box's longer side.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out the files that do not start like
                an image.

        Raises:
            FileNotFoundError: If the list or the image folder is missing.
            ValueError: If ``split`` is unknown, ``box_scale`` is not positive, a
                row is malformed (the message names the file and line), or no face
                is left.
        """
        if split not in ("training", "validation"):
            raise ValueError(
                f"split must be 'training' or 'validation', got {split!r}."
            )
        if not box_scale > 0:
            raise ValueError(f"box_scale must be positive, got {box_scale}.")
        self.box_scale = box_scale
        self.list_file = locate(
            root,
            [f"{split}.csv", f"Manually_Annotated_file_lists/{split}.csv"],
            "AffectNet list",
        )
        self.images = locate(
            root,
            [
                "Manually_Annotated_Images",
                "Manually_Annotated/Manually_Annotated_Images",
            ],
            "AffectNet images",
        )
        entries = []
        with open(self.list_file, newline="", encoding="utf-8-sig") as file:
            for number, row in enumerate(csv.reader(file), start=1):
                if not row or (number == 1 and row[0] == COLUMNS[0]):
                    continue
                entries.append(self._entry(row, f"{self.list_file}, line {number}"))
        super().__init__(root, entries, transform, check_headers)

    def _entry(self, row: list[str], where: str) -> Entry:
        if len(row) != len(COLUMNS):
            raise ValueError(
                f"{where}: expected {len(COLUMNS)} fields {list(COLUMNS)}, got "
                f"{len(row)}."
            )
        try:
            x, y, width, height = (float(value) for value in row[1:5])
            box = square_box((x, y, x + width, y + height), self.box_scale)
        except ValueError:
            raise ValueError(
                f"{where}: expected a face box of numbers with a positive width and "
                f"height, got {row[1:5]}."
            ) from None
        label = code_of(row[6], AFFECTNET_CODES, where)
        return Entry(os.path.join(self.images, row[0]), label, box=box)
