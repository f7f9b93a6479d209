"""Data for BYEL: the LSD and Aff-Wild2 layouts, and an embedded synthetic-face set."""

from lightly_byel.data.affwild2 import AffWild2Expr, read_expr_annotation
from lightly_byel.data.classes import LSD_CLASSES
from lightly_byel.data.images import LabeledImageFiles
from lightly_byel.data.lsd import LSDImageFolder

__all__ = [
    "LSD_CLASSES",
    "AffWild2Expr",
    "LSDImageFolder",
    "LabeledImageFiles",
    "read_expr_annotation",
]
