"""Augmentations of BYEL."""

from lightly_byel.transforms.byel_transform import BYELTransform, BYELViewTransform

__all__ = ["BYELTransform", "BYELViewTransform"]
