"""Data for BYEL: the LSD and Aff-Wild2 layouts, and an embedded synthetic-face set.

The loaders need torch; the synthetic-face generator does not, and its command line
(``python -m lightly_byel.data.synthfaces``) starts without importing torch.
"""

from typing import TYPE_CHECKING

from lightly_byel._exports import lazy_exports
from lightly_byel.data.classes import LSD_CLASSES

if TYPE_CHECKING:
    from lightly_byel.data.affwild2 import AffWild2Expr, read_expr_annotation
    from lightly_byel.data.images import LabeledImageFiles
    from lightly_byel.data.lsd import LSDImageFolder
    from lightly_byel.data.synthfaces import (
        SPLITS,
        GenerationSummary,
        contact_sheet,
        generate,
        render_face,
    )

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "AffWild2Expr": "lightly_byel.data.affwild2",
        "GenerationSummary": "lightly_byel.data.synthfaces",
        "LSDImageFolder": "lightly_byel.data.lsd",
        "LabeledImageFiles": "lightly_byel.data.images",
        "SPLITS": "lightly_byel.data.synthfaces",
        "contact_sheet": "lightly_byel.data.synthfaces",
        "generate": "lightly_byel.data.synthfaces",
        "read_expr_annotation": "lightly_byel.data.affwild2",
        "render_face": "lightly_byel.data.synthfaces",
    },
)

__all__ = [
    "LSD_CLASSES",
    "SPLITS",
    "AffWild2Expr",
    "GenerationSummary",
    "LSDImageFolder",
    "LabeledImageFiles",
    "contact_sheet",
    "generate",
    "read_expr_annotation",
    "render_face",
]
