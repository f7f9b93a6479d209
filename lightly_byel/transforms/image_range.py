"""The values image tensors may hold: uint8, or floating point in [0, 1].

The transforms scale uint8 images by 1/255 and take floating-point images to be on
the [0, 1] scale already. Floating-point images on the 0-255 scale, integer tensors
of other dtypes or NaN would otherwise be clipped to white or give confident
nonsense, so the checks here refuse them with a message that says what came and what
is expected.
"""

from __future__ import annotations

import torch
from torch import Tensor

EXPECTED_RANGE = "uint8, or floating point in [0, 1]"
"""The image tensors that are taken, as the error messages state it."""


def check_image_dtype(images: Tensor) -> None:
    """Raises unless ``images`` is a non-empty uint8 or floating-point tensor.

    Reads the tensor's metadata only, so it never waits for the tensor's device.

    Args:
        images: An image or a batch of images, of any shape.

    Raises:
        ValueError: If the tensor has another dtype, or no element.

    Examples:
        >>> check_image_dtype(torch.zeros(3, 4, 4, dtype=torch.uint8))
        >>> check_image_dtype(torch.zeros(3, 4, 4, dtype=torch.int64))
        Traceback (most recent call last):
        ...
        ValueError: got an int64 image tensor; expected uint8, or floating point
        in [0, 1] (.to(torch.uint8) converts values in 0-255).
    """
    if images.dtype != torch.uint8 and not images.is_floating_point():
        integer = not images.dtype.is_complex and images.dtype != torch.bool
        hint = " (.to(torch.uint8) converts values in 0-255)" if integer else ""
        raise ValueError(f"got {_described(images)}; expected {EXPECTED_RANGE}{hint}.")
    if images.numel() == 0:
        raise ValueError(
            f"got an empty image tensor of shape {tuple(images.shape)}; expected at "
            "least one pixel."
        )


def check_image_range(images: Tensor) -> None:
    """Raises unless ``images`` holds uint8 values, or finite ones in [0, 1].

    Checks the dtype as :func:`check_image_dtype` does, then the values of a
    floating-point tensor with one reduction (its minimum and maximum), whose
    result is read on the host: on an accelerator this waits for the device. A
    meta tensor holds no values, so only its dtype is checked.

    Args:
        images: An image or a batch of images, of any shape.

    Raises:
        ValueError: If the dtype is refused (see :func:`check_image_dtype`), or a
            floating-point tensor holds NaN or values outside [0, 1].

    Examples:
        >>> check_image_range(torch.rand(2, 3, 8, 8))
        >>> check_image_range(torch.full((3, 8, 8), 255.0))
        Traceback (most recent call last):
        ...
        ValueError: got a float32 image tensor with values from 255.0 to 255.0;
        expected uint8, or floating point in [0, 1] (divide by 255).
    """
    check_image_dtype(images)
    if images.dtype == torch.uint8 or images.device.type == "meta":
        return
    # One reduction and one transfer: the minimum and the maximum together. Both
    # are NaN when any value is.
    low, high = torch.stack(torch.aminmax(images)).tolist()
    if low != low:
        raise ValueError(
            f"got {_described(images)} holding NaN; expected {EXPECTED_RANGE}."
        )
    if low < 0 or high > 1:
        hint = " (divide by 255)" if low >= 0 and high <= 255 else ""
        raise ValueError(
            f"got {_described(images)} with values from {low} to {high}; expected "
            f"{EXPECTED_RANGE}{hint}."
        )


def _described(images: Tensor) -> str:
    """``a float32 image tensor``, ``an int64 image tensor``."""
    # "torch.float32" -> "float32"; str.removeprefix needs Python 3.9.
    name = str(images.dtype).rpartition(".")[2]
    article = "an" if name.startswith("int") else "a"
    return f"{article} {name} image tensor"
