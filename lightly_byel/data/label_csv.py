"""Any images listed in a CSV file with their expression."""

import csv
import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.expression_dataset import Entry, ExpressionDataset
from lightly_byel.data.expression_names import expression_label
from lightly_byel.data.face_framing import square_box

PATH_COLUMNS = ("path", "image", "file", "filename")
"""Accepted names of the column of image paths (any case)."""

LABEL_COLUMNS = ("label", "expression", "emotion", "class")
"""Accepted names of the column of labels (any case)."""

BOX_COLUMNS = ("left", "top", "right", "bottom")
"""Optional columns of a face box in pixels (all four or none)."""


class LabelCSV(ExpressionDataset):
    r"""Images listed in a CSV file: a path and a label a row.

    The header names the path column (one of :data:`PATH_COLUMNS`) and the label
    column (one of :data:`LABEL_COLUMNS`), and optionally ``subject`` and the face
    box columns :data:`BOX_COLUMNS` (made square as in
    :func:`~lightly_byel.data.face_framing.square_box`). Paths are relative to the
    CSV file's folder, or absolute. A label is an LSD class index (0-5) or an
    expression name in any usual spelling (``angry``, ``Happiness``, ...);
    ``neutral`` and ``contempt`` rows are left out and counted.

    Attributes:
        csv_file: The CSV file read.

    Examples:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> Image.new("RGB", (8, 8)).save(os.path.join(tmp.name, "a.png"))
        >>> with open(os.path.join(tmp.name, "labels.csv"), "w") as file:
        ...     _ = file.write("Image,Emotion,subject\na.png,surprised,p1\n"
        ...                    "a.png,4,p1\na.png,Neutral,p2\n")
        >>> dataset = LabelCSV(os.path.join(tmp.name, "labels.csv"))
        >>> dataset.targets, dataset.subjects, dataset.skipped
        ([5, 4], ['p1', 'p1'], {'neutral': 1})
        >>> tmp.cleanup()
    """

    def __init__(
        self,
        csv_file: str | os.PathLike[str],
        transform: Callable[[Image.Image], Any] | None = None,
        check_headers: bool = True,
    ) -> None:
        """Reads the CSV file.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If a column is missing or a row is malformed (the message
                names the file and line), or no face is left.
        """
        self.csv_file = os.fspath(csv_file)
        if not os.path.isfile(self.csv_file):
            raise FileNotFoundError(f"label CSV {self.csv_file!r} is not a file.")
        base = os.path.dirname(os.path.abspath(self.csv_file))
        entries = []
        with open(self.csv_file, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = _columns(list(reader.fieldnames or []), self.csv_file)
            for record in reader:
                where = f"{self.csv_file}, line {reader.line_num}"
                entries.append(_entry(record, columns, base, where))
        super().__init__(csv_file, entries, transform, check_headers)


def _columns(header: list[str], name: str) -> dict[str, str]:
    """The header's column for ``path``, ``label``, ``subject`` and the box."""
    by_name = {column.strip().casefold(): column for column in header}
    found = {}
    for role, accepted in (("path", PATH_COLUMNS), ("label", LABEL_COLUMNS)):
        matches = [by_name[column] for column in accepted if column in by_name]
        if len(matches) != 1:
            raise ValueError(
                f"{name}, line 1: expected exactly one {role} column named one of "
                f"{list(accepted)}, found {matches or 'none'} in {header}."
            )
        found[role] = matches[0]
    boxes = [column for column in BOX_COLUMNS if column in by_name]
    if boxes and len(boxes) != len(BOX_COLUMNS):
        raise ValueError(
            f"{name}, line 1: a face box needs all the columns {list(BOX_COLUMNS)}, "
            f"found {boxes}."
        )
    for column in ("subject", *boxes):
        if column in by_name:
            found[column] = by_name[column]
    return found


def _entry(
    record: dict[str, str], columns: dict[str, str], base: str, where: str
) -> Entry:
    path = (record[columns["path"]] or "").strip()
    text = (record[columns["label"]] or "").strip()
    label = int(text) if text.isdecimal() else expression_label(text)
    if not path or label is None or (isinstance(label, int) and label > 5):
        raise ValueError(
            f"{where}: expected an image path and a label, an index 0-5 of "
            f"{list(LSD_CLASSES)} or an expression name, got {path!r} and {text!r}."
        )
    box = None
    if "left" in columns:
        try:
            values = [float(record[columns[column]]) for column in BOX_COLUMNS]
            box = square_box((values[0], values[1], values[2], values[3]))
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: expected a face box {list(BOX_COLUMNS)} of numbers with "
                "right > left and bottom > top."
            ) from None
    subject = (record.get(columns.get("subject", ""), "") or "").strip() or None
    return Entry(os.path.join(base, path), label, subject, box)
