"""The images ``benchmarks/predict.py`` reads, in a fixed order.

A flat folder (the ABAW LSD test set), an LSD split or Aff-Wild2 frames, read
through the project's loaders (:data:`~harness.eval_formats.EVAL_FORMATS`).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from harness.eval_formats import EVAL_FORMATS
from lightly_byel.data.images import is_image_name, natural_key


@dataclass(frozen=True)
class ImageSource:
    """One image to predict.

    Attributes:
        path: The file.
        name: Its name in the CSV: the file name in a flat folder, the path
            relative to the folder given otherwise.
        label: The true class, or ``None`` for unlabelled images.
        group: The video a frame belongs to (Aff-Wild2), for smoothing; ``None``
            otherwise.
    """

    path: str
    name: str
    label: int | None = None
    group: str | None = None


def image_sources(
    images: Path, form: str, annotations: Path | None = None
) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The images to predict, in a fixed order, and the files passed over.

    Args:
        images: A flat folder of images (``flat``), an LSD split (``lsd``) or the
            Aff-Wild2 frames folder (``affwild2-expr``).
        form: ``flat``, or a name of :data:`~harness.eval_formats.EVAL_FORMATS`.
        annotations: The Aff-Wild2 EXPR annotation folder (``affwild2-expr``).

    Returns:
        The images, and ``(name, reason)`` for each file of a flat folder passed
        over: not an image by its name, or a link to a file that is not there (a
        labelled format's loader reports those itself).

    Raises:
        FileNotFoundError: If ``images`` is not a folder.
        ValueError: For an unknown format, or one that needs ``annotations``.
    """
    if not images.is_dir():
        raise FileNotFoundError(f"--images {str(images)!r} is not a folder.")
    if form == "flat":
        return _flat_folder(images)
    if form not in EVAL_FORMATS:
        raise ValueError(
            f"--format must be flat or one of {sorted(EVAL_FORMATS)}, got {form!r}."
        )
    dataset = EVAL_FORMATS[form].load(images, annotations)
    grouped = form == "affwild2-expr"
    sources = []
    for path, label in dataset.samples:
        name = os.path.relpath(path, images)
        group = os.path.basename(os.path.dirname(path)) if grouped else None
        sources.append(ImageSource(path, name, label, group))
    return sources, []


def _flat_folder(images: Path) -> tuple[list[ImageSource], list[tuple[str, str]]]:
    """The image files directly in ``images``, and the files passed over, by name."""
    with os.scandir(images) as entries:
        files = [entry for entry in entries if not entry.is_dir()]
    files.sort(key=lambda entry: natural_key(entry.name))
    sources, skipped = [], []
    for entry in files:
        if not entry.is_file():  # a link whose target is gone
            skipped.append((entry.name, "a link to a missing file"))
        elif not is_image_name(entry.name):
            skipped.append((entry.name, "not an image file"))
        else:
            sources.append(ImageSource(str(images / entry.name), entry.name))
    return sources, skipped
