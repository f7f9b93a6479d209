"""Augmentations of BYEL."""

from lightly_byel.transforms.batch_transform import (
    BYELBatchTransform,
    BYELBatchViewTransform,
)
from lightly_byel.transforms.byel_transform import BYELTransform, BYELViewTransform
from lightly_byel.transforms.byel_view_settings import BYELViewSettings

__all__ = [
    "BYELBatchTransform",
    "BYELBatchViewTransform",
    "BYELTransform",
    "BYELViewSettings",
    "BYELViewTransform",
]
