"""The formats of the evaluation split and their registry.

``--eval-format`` names a row of :data:`EVAL_FORMATS`. Adding a format means its
dataset (a :class:`~lightly_byel.data.LabeledImageFiles` with the six LSD labels),
one row here and its name in :data:`~harness.settings.EvalFormat`, the setting's
choices; a test keeps the two lists the same.

Examples:
    >>> list(EVAL_FORMATS), EVAL_FORMATS["affwild2-expr"].needs_annotations
    (['lsd', 'affwild2-expr'], True)
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.settings import DataSettings
from lightly_byel.data import AffWild2Expr, LabeledImageFiles, LSDImageFolder


@dataclass(frozen=True)
class EvalFormatSpec:
    """One format of the evaluation split.

    Attributes:
        description: What ``--eval-dir`` holds in this format.
        load: Indexes the split: ``load(eval_dir, data_settings)``.
        needs_annotations: Whether the format reads ``--eval-annotations``
            (refused for the others, where it would be ignored).
    """

    description: str
    load: Callable[[Path, DataSettings], LabeledImageFiles]
    needs_annotations: bool = False


def _affwild2_expr(frames: Path, data: DataSettings) -> LabeledImageFiles:
    if data.eval_annotations is None:
        raise ValueError("--eval-format affwild2-expr needs --eval-annotations.")
    return AffWild2Expr(frames, data.eval_annotations)


EVAL_FORMATS: dict[str, EvalFormatSpec] = {
    "lsd": EvalFormatSpec(
        "an LSD-layout split: one folder per class",
        lambda folder, data: LSDImageFolder(folder),
    ),
    "affwild2-expr": EvalFormatSpec(
        "Aff-Wild2 frames (cropped_aligned) with the EXPR annotation folder",
        _affwild2_expr,
        needs_annotations=True,
    ),
}
