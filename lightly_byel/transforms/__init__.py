"""Augmentations of BYEL, and the unaugmented input of evaluation."""

from lightly_byel.transforms.batch_transform import (
    BYELBatchTransform,
    BYELBatchViewTransform,
)
from lightly_byel.transforms.byel_transform import BYELTransform, BYELViewTransform
from lightly_byel.transforms.byel_view_settings import BYELViewSettings
from lightly_byel.transforms.eval_transform import EvalTransform, network_input

__all__ = [
    "BYELBatchTransform",
    "BYELBatchViewTransform",
    "BYELTransform",
    "BYELViewSettings",
    "BYELViewTransform",
    "EvalTransform",
    "network_input",
]
