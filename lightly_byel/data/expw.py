"""ExpW (Expression in-the-Wild): faces cut from web photos by ``label.lst``."""

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
from lightly_byel.data.face_framing import square_box

EXPW_CODES: dict[int, int | str] = {
    0: 0,  # angry
    1: 1,  # disgust
    2: 2,  # fear
    3: 3,  # happy
    4: 4,  # sad
    5: 5,  # surprise
    6: "neutral",
}
"""LSD label, or the reason left out, of each ExpW ``expression_label``."""


class ExpW(ExpressionDataset):
    r"""ExpW's faces: ``label/label.lst`` and the photos of ``image/origin``.

    Each line of ``label.lst`` is ``image_name face_id top left right bottom
    confidence expression_label`` (note the order: top before left); a photo with
    several faces has several lines. The box is made square on its longer side
    and scaled by ``box_scale`` (see
    :func:`~lightly_byel.data.face_framing.square_box`). Codes 0-5 (angry,
    disgust, fear, happy, sad, surprise) are LSD labels 0-5; 6 (neutral) is left
    out and counted.

    Attributes:
        list_file: The ``label.lst`` read.
        images: The photo folder.
        box_scale: The crop's side over the face box's longer side.

    The rest are those of
    :class:`~lightly_byel.data.expression_dataset.ExpressionDataset`.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> os.makedirs(os.path.join(tmp.name, "label"))
        >>> os.makedirs(os.path.join(tmp.name, "image", "origin"))
        >>> Image.new("RGB", (80, 60)).save(
        ...     os.path.join(tmp.name, "image", "origin", "p_1.jpg"))
        >>> with open(os.path.join(tmp.name, "label", "label.lst"), "w") as file:
        ...     _ = file.write("p_1.jpg 0 10 20 40 50 61.2 3\n"
        ...                    "p_1.jpg 1 5 45 65 25 40.0 6\n")
        >>> dataset = ExpW(tmp.name)
        >>> dataset.targets, dataset.boxes, dataset.skipped
        ([3], [(10.0, 10.0, 50.0, 50.0)], {'neutral': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        box_scale: float = 1.0,
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads ``label.lst``.

        Args:
            root: The ExpW folder (holding ``label`` and ``image``).
            box_scale: The crop's side over the face box's longer side.
            transform: Applied to each RGB image, or ``None``.
            check_headers: Whether to leave out the files that do not start like
                an image.

        Raises:
            FileNotFoundError: If ``label.lst`` or the photo folder is missing.
            ValueError: If ``box_scale`` is not positive, a line is malformed (the
                message names the file and line), or no face is left.
        """
        if not box_scale > 0:
            raise ValueError(f"box_scale must be positive, got {box_scale}.")
        self.box_scale = box_scale
        self.list_file = locate(
            root, ["label/label.lst", "label.lst"], "ExpW label list"
        )
        self.images = locate(
            root, ["image/origin", "origin", "image"], "ExpW photo folder"
        )
        entries = [
            self._entry(fields, f"{self.list_file}, line {number}")
            for number, fields in index_lines(self.list_file)
        ]
        super().__init__(root, entries, transform, check_headers)

    def _entry(self, fields: list[str], where: str) -> Entry:
        if len(fields) != 8:
            raise ValueError(
                f"{where}: expected 'image_name face_id top left right bottom "
                f"confidence expression_label', got {len(fields)} fields."
            )
        try:
            top, left, right, bottom = (float(value) for value in fields[2:6])
            box = square_box((left, top, right, bottom), self.box_scale)
        except ValueError:
            raise ValueError(
                f"{where}: expected a face box 'top left right bottom' with right > "
                f"left and bottom > top, got {fields[2:6]}."
            ) from None
        label = code_of(fields[7], EXPW_CODES, where)
        return Entry(os.path.join(self.images, fields[0]), label, box=box)
