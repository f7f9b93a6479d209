"""Data for BYEL: real-face layouts, and an embedded synthetic-face set.

The loaders read the LSD and Aff-Wild2 layouts and the published layouts of other
expression datasets (FER2013, FER+, RAF-DB, AffectNet, ExpW, CK+, JAFFE, KDEF, a
folder per class, a CSV list), all labelled with the six LSD classes.

The loaders need torch; the synthetic-face generator does not, and its command line
(``python -m lightly_byel.data.synthfaces``) starts without importing torch.
"""

from typing import TYPE_CHECKING

from lightly_byel._exports import lazy_exports
from lightly_byel.data.classes import LSD_CLASSES

if TYPE_CHECKING:
    from lightly_byel.data.affectnet import AffectNet
    from lightly_byel.data.affwild2 import AffWild2Expr, read_expr_annotation
    from lightly_byel.data.ckplus import CKPlus
    from lightly_byel.data.class_folders import ExpressionFolders
    from lightly_byel.data.coded_names import JAFFE, KDEF
    from lightly_byel.data.expression_dataset import Entry, ExpressionDataset
    from lightly_byel.data.expw import ExpW
    from lightly_byel.data.fer2013 import FER2013, FERPlus
    from lightly_byel.data.images import LabeledImageFiles
    from lightly_byel.data.label_csv import LabelCSV
    from lightly_byel.data.lsd import LSDImageFolder
    from lightly_byel.data.rafdb import RAFDB
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
        "AffectNet": "lightly_byel.data.affectnet",
        "CKPlus": "lightly_byel.data.ckplus",
        "Entry": "lightly_byel.data.expression_dataset",
        "ExpW": "lightly_byel.data.expw",
        "ExpressionDataset": "lightly_byel.data.expression_dataset",
        "ExpressionFolders": "lightly_byel.data.class_folders",
        "FER2013": "lightly_byel.data.fer2013",
        "FERPlus": "lightly_byel.data.fer2013",
        "JAFFE": "lightly_byel.data.coded_names",
        "KDEF": "lightly_byel.data.coded_names",
        "LabelCSV": "lightly_byel.data.label_csv",
        "RAFDB": "lightly_byel.data.rafdb",
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
    "FER2013",
    "JAFFE",
    "KDEF",
    "LSD_CLASSES",
    "RAFDB",
    "SPLITS",
    "AffWild2Expr",
    "AffectNet",
    "CKPlus",
    "Entry",
    "ExpW",
    "ExpressionDataset",
    "ExpressionFolders",
    "FERPlus",
    "GenerationSummary",
    "LSDImageFolder",
    "LabelCSV",
    "LabeledImageFiles",
    "contact_sheet",
    "generate",
    "read_expr_annotation",
    "render_face",
]
