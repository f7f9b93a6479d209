"""The formats of the evaluation split and their registry.

``--eval-format`` names a row of :data:`EVAL_FORMATS`, and so does
``benchmarks/predict.py --format``. Adding a format means its dataset (a
:class:`~lightly_byel.data.LabeledImageFiles` with the six LSD labels), one row
here and its name in :data:`~harness.config.settings.EvalFormat`, the setting's choices;
a test keeps the two lists the same. docs/datasets.md gives every format's layout,
codes and mapping.

Examples:
    >>> list(EVAL_FORMATS)[:3], EVAL_FORMATS["affwild2-expr"].needs_annotations
    (['lsd', 'affwild2-expr', 'class-folders'], True)
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lightly_byel.data import (
    FER2013,
    JAFFE,
    KDEF,
    RAFDB,
    AffectNet,
    AffWild2Expr,
    CKPlus,
    ExpressionFolders,
    ExpW,
    FERPlus,
    LabelCSV,
    LabeledImageFiles,
    LSDImageFolder,
)


@dataclass(frozen=True)
class EvalFormatSpec:
    """One format of the evaluation split.

    Attributes:
        description: What ``--eval-dir`` holds in this format.
        load: Indexes the split: ``load(eval_dir, annotations)``, the second the
            annotation folder of the formats that need one, else ``None``.
        needs_annotations: Whether the format reads ``--eval-annotations``
            (refused for the others, where it would be ignored).
    """

    description: str
    load: Callable[[Path, Path | None], LabeledImageFiles]
    needs_annotations: bool = False


def _affwild2_expr(frames: Path, annotations: Path | None) -> LabeledImageFiles:
    if annotations is None:
        raise ValueError("--eval-format affwild2-expr needs --eval-annotations.")
    return AffWild2Expr(frames, annotations)


EVAL_FORMATS: dict[str, EvalFormatSpec] = {
    "lsd": EvalFormatSpec(
        "an LSD-layout split: one folder per class",
        lambda folder, _: LSDImageFolder(folder),
    ),
    "affwild2-expr": EvalFormatSpec(
        "Aff-Wild2 frames (cropped_aligned) with the EXPR annotation folder",
        _affwild2_expr,
        needs_annotations=True,
    ),
    "class-folders": EvalFormatSpec(
        "a folder per expression: angry/, happy/, surprised/, ... (any case)",
        lambda folder, _: ExpressionFolders(folder),
    ),
    "csv": EvalFormatSpec(
        "a CSV file of image paths and labels (path,label[,subject])",
        lambda file, _: LabelCSV(file),
    ),
    "fer2013": EvalFormatSpec(
        "fer2013.csv (or its folder); the PrivateTest rows",
        lambda root, _: FER2013(root),
    ),
    "ferplus": EvalFormatSpec(
        "the folder of fer2013.csv and fer2013new.csv; PrivateTest, majority vote",
        lambda root, _: FERPlus(root),
    ),
    "rafdb": EvalFormatSpec(
        "RAF-DB basic (EmoLabel/, Image/aligned/); the test faces",
        lambda root, _: RAFDB(root),
    ),
    "affectnet": EvalFormatSpec(
        "AffectNet (validation.csv, Manually_Annotated_Images/); the validation set",
        lambda root, _: AffectNet(root),
    ),
    "expw": EvalFormatSpec(
        "ExpW (label/label.lst, image/origin/); faces cut by their boxes",
        lambda root, _: ExpW(root),
    ),
    "ckplus": EvalFormatSpec(
        "CK+ (Emotion/, cohn-kanade-images/); the peak frames",
        lambda root, _: CKPlus(root),
    ),
    "jaffe": EvalFormatSpec(
        "JAFFE: KA.AN1.39.tiff images", lambda root, _: JAFFE(root)
    ),
    "kdef": EvalFormatSpec(
        "KDEF: AF01/AF01ANS.JPG images, every angle", lambda root, _: KDEF(root)
    ),
}
