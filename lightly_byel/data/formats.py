"""The layouts of labelled expression data, by name, and their registry.

``lightly-byel predict --format`` and the benchmark's ``--eval-format`` name a row of
:data:`FORMATS`. Adding a format means its dataset (a
:class:`~lightly_byel.data.LabeledImageFiles` with the six LSD labels) and one row
here; the benchmark's ``EvalFormat`` setting lists the same names, which a test
keeps equal. docs/datasets.md gives every format's layout, codes and mapping.

Importing this module does not import torch: the datasets load when a format does.

Examples:
    >>> list(FORMATS)[:3], FORMATS["affwild2-expr"].needs_annotations
    (['lsd', 'affwild2-expr', 'class-folders'], True)
"""

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lightly_byel.data.images import LabeledImageFiles


@dataclass(frozen=True)
class DataFormat:
    """One layout of labelled expression data.

    Attributes:
        description: What the folder (or file) holds in this format.
        dataset: The name of its dataset class in :mod:`lightly_byel.data`, which
            takes the folder as its first argument.
        needs_annotations: Whether the format reads an annotation folder (the
            dataset's second argument); formats without one refuse it, since it
            would be ignored.
    """

    description: str
    dataset: str
    needs_annotations: bool = False

    def load(self, root: Path, annotations: Path | None = None) -> "LabeledImageFiles":
        """Indexes the data at ``root`` (and ``annotations``, where it needs them).

        Raises:
            ValueError: If the format needs annotations and none are given.
        """
        # Imported here: the names of the formats are needed by command lines
        # before torch, which the datasets import, is worth loading.
        cls: Any = getattr(importlib.import_module("lightly_byel.data"), self.dataset)
        if not self.needs_annotations:
            return cls(root)  # type: ignore[no-any-return]
        if annotations is None:
            raise ValueError(
                f"{self.dataset} needs its annotation folder ({self.description})."
            )
        return cls(root, annotations)  # type: ignore[no-any-return]


FORMATS: dict[str, DataFormat] = {
    "lsd": DataFormat("an LSD-layout split: one folder per class", "LSDImageFolder"),
    "affwild2-expr": DataFormat(
        "Aff-Wild2 frames (cropped_aligned) with the EXPR annotation folder",
        "AffWild2Expr",
        needs_annotations=True,
    ),
    "class-folders": DataFormat(
        "a folder per expression: angry/, happy/, surprised/, ... (any case)",
        "ExpressionFolders",
    ),
    "csv": DataFormat(
        "a CSV file of image paths and labels (path,label[,subject])", "LabelCSV"
    ),
    "fer2013": DataFormat(
        "fer2013.csv (or its folder); the PrivateTest rows", "FER2013"
    ),
    "ferplus": DataFormat(
        "the folder of fer2013.csv and fer2013new.csv; PrivateTest, majority vote",
        "FERPlus",
    ),
    "rafdb": DataFormat(
        "RAF-DB basic (EmoLabel/, Image/aligned/); the test faces", "RAFDB"
    ),
    "affectnet": DataFormat(
        "AffectNet (validation.csv, Manually_Annotated_Images/); the validation set",
        "AffectNet",
    ),
    "expw": DataFormat(
        "ExpW (label/label.lst, image/origin/); faces cut by their boxes", "ExpW"
    ),
    "ckplus": DataFormat(
        "CK+ (Emotion/, cohn-kanade-images/); the peak frames", "CKPlus"
    ),
    "jaffe": DataFormat("JAFFE: KA.AN1.39.tiff images", "JAFFE"),
    "kdef": DataFormat("KDEF: AF01/AF01ANS.JPG images, every angle", "KDEF"),
}

VIDEO_FORMATS = ("video", "affwild2-expr")
"""The formats of images that are frames of videos, each with a frame number: the
format of unlabelled frame folders (``video``, read by
:func:`~lightly_byel.inference.image_sources.image_sources`) and Aff-Wild2's."""
