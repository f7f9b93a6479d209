"""The images a trained model takes: files, PIL images, tensors and numpy arrays.

:func:`as_rgb` turns one of them into a ``(3, H, W)`` RGB tensor (uint8, or floating
point in [0, 1]) for :meth:`~lightly_byel.models.emotion_model.EmotionModel.preprocess`;
numpy arrays are read as OpenCV and HSEmotion users hold faces, ``(H, W, 3)``, in RGB
or, with ``bgr=True``, in OpenCV's BGR order. Every refusal names what it got and
what is expected, and a file that cannot be read is named.
"""

from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image
from torch import Tensor
from torchvision.transforms.v2 import functional as F

from lightly_byel.data.images import UNREADABLE, load_rgb, to_rgb
from lightly_byel.transforms.image_range import EXPECTED_RANGE, check_image_range

ImageLike = Image.Image | str | Path | Tensor | NDArray[Any]
"""One image: a PIL image, a file path, a ``(3, H, W)`` / ``(1, H, W)`` tensor, or a
numpy array ``(H, W, 3)`` (RGB, or BGR with ``bgr=True``), ``(H, W, 4)`` (RGBA or
BGRA), ``(H, W)`` / ``(H, W, 1)`` (grayscale); tensors and arrays hold uint8, or
floating point in [0, 1]."""

ONE_IMAGE = (Image.Image, str, Path, Tensor, np.ndarray)
"""The types of :data:`ImageLike`, for ``isinstance``."""

ARRAY_SHAPES = (
    "(H, W, 3) (RGB, or BGR with bgr=True), (H, W, 4) (RGBA, or BGRA with "
    "bgr=True), (H, W) or (H, W, 1) (grayscale)"
)
"""The image arrays that are taken, as the error messages state them."""


def as_rgb(image: object, bgr: bool = False) -> Tensor:
    """A ``(3, H, W)`` uint8 or [0, 1] float tensor of one image.

    Raises:
        ValueError: For a tensor or array that is not such an image (see
            :func:`rgb_of_tensor`, :func:`rgb_of_array` and
            :func:`~lightly_byel.transforms.image_range.check_image_range`), or
            anything but a PIL image, a path, a tensor or an array.
        FileNotFoundError: For a path that does not exist.
        IsADirectoryError: For a path that is a directory.
        OSError: For a file that is not a readable image, named in the message.
    """
    if isinstance(image, str | Path):
        return _read_rgb(Path(image))
    if isinstance(image, Image.Image):
        return F.pil_to_tensor(to_rgb(image))
    if isinstance(image, np.ndarray):
        if image.ndim == 4:
            raise ValueError(
                f"got an image array of shape {image.shape} in a sequence; expected "
                f"one image per item: {ARRAY_SHAPES}."
            )
        return rgb_of_array(image, bgr)
    if not isinstance(image, Tensor):
        raise ValueError(not_an_image(image))
    rgb = rgb_of_tensor(image)
    check_image_range(image)
    return rgb


def rgb_of_array(array: NDArray[Any], bgr: bool) -> Tensor:
    """The RGB tensor ``(3, H, W)`` of an image array, ``(N, 3, H, W)`` of a batch.

    Takes ``(H, W, C)`` with ``C`` of 1 (grayscale), 3 (RGB, BGR) or 4 (RGBA,
    BGRA), ``(H, W)`` (grayscale) and ``(N, H, W, C)``; transparent pixels are
    composited on black, as the datasets read RGBA files (:func:`_on_black`).
    Checks the values with one reduction for the whole array.

    Raises:
        ValueError: For another shape, an empty array, a dtype other than uint8
            and float16/32/64, or floating-point values outside [0, 1] or NaN;
            the message names the shape, dtype or values and what is expected.
    """
    shape = tuple(array.shape)
    channels = shape[-1] if array.ndim in (3, 4) else 1
    if array.ndim not in (2, 3, 4) or channels not in (1, 3, 4):
        hint = ""
        if array.ndim == 3 and shape[0] in (1, 3, 4):
            hint = " (a channels-first (C, H, W) array is array.transpose(1, 2, 0))"
        raise ValueError(
            f"got an image array of shape {shape}; expected {ARRAY_SHAPES}, or a "
            f"batch (N, H, W, C) of them{hint}."
        )
    dtype = array.dtype
    if dtype != np.uint8 and not (dtype.kind == "f" and dtype.itemsize <= 8):
        hint = ""
        if dtype.kind in "iu":
            hint = " (.astype(np.uint8) converts values in 0-255)"
        elif dtype.kind == "f":  # long double, which torch has no type for
            hint = " (.astype(np.float32) converts it)"
        article = "an" if dtype.name[0] in "aeio" else "a"
        raise ValueError(
            f"got {article} {dtype.name} image array; expected {EXPECTED_RANGE}{hint}."
        )
    if array.size == 0:
        raise ValueError(
            f"got an empty image array of shape {shape}; expected at least one pixel."
        )
    # A copy in native byte order and C order: torch takes neither the negative
    # strides of array[..., ::-1] nor a read-only or byte-swapped array, and the
    # caller's array is never shared with the network input.
    native = np.array(array, dtype=array.dtype.newbyteorder("="), order="C")
    if channels == 4:
        native = _on_black(native)
    pixels = torch.from_numpy(native if array.ndim > 2 else native[:, :, None])
    if pixels.is_floating_point():
        try:
            check_image_range(pixels)
        except ValueError as error:
            # The same limits as for tensors, told in terms of the array passed.
            raise ValueError(
                str(error).replace("image tensor", "image array")
            ) from None
    channels_first = pixels.movedim(-1, -3)
    if channels == 1:
        return channels_first.expand(*channels_first.shape[:-3], 3, -1, -1)
    if bgr:
        return channels_first[..., [2, 1, 0], :, :]
    return channels_first


def _on_black(rgba: NDArray[Any]) -> NDArray[Any]:
    """The colour channels of ``(..., 4)`` pixels composited on black by their alpha.

    uint8 images go through the datasets' own
    :func:`~lightly_byel.data.images.to_rgb`, so an array gives the pixels its RGBA
    file gives.

    Examples:
        >>> _on_black(np.array([[[200, 100, 0, 128]]], np.uint8)).tolist()
        [[[100, 50, 0]]]
    """
    if rgba.dtype != np.uint8:
        return rgba[..., :3] * rgba[..., 3:]  # type: ignore[no-any-return]
    images = rgba.reshape(-1, *rgba.shape[-3:])
    rgb = [np.asarray(to_rgb(Image.fromarray(image))) for image in images]
    return np.stack(rgb).reshape(*rgba.shape[:-1], 3)


def rgb_of_tensor(image: Tensor) -> Tensor:
    """The ``(3, H, W)`` view of a ``(3, H, W)`` or ``(1, H, W)`` image tensor.

    Checks the shape only: the values are checked once per batch by the caller.

    Raises:
        ValueError: For a tensor of another shape.
    """
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise ValueError(
            f"expected an image tensor of shape (3, H, W) or (1, H, W), got "
            f"{tuple(image.shape)}."
        )
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image


def _read_rgb(path: Path) -> Tensor:
    """The ``(3, H, W)`` uint8 tensor of an image file.

    Raises:
        FileNotFoundError: If the file does not exist.
        IsADirectoryError: If the path is a directory.
        OSError: If the file is not a readable image (damaged, truncated or of
            another format) or cannot be opened (``PermissionError``), named in
            the message.
    """
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError as error:  # a folder on the way that may not be searched
        raise _read_error(path, error) from error
    if is_dir:
        raise IsADirectoryError(
            f"image {str(path)!r} is a directory; pass the image files in it "
            "(e.g. sorted(folder.glob('*.jpg')))."
        )
    if not is_file:
        raise FileNotFoundError(f"image {str(path)!r} does not exist.")
    try:
        return F.pil_to_tensor(load_rgb(path))
    except UNREADABLE as error:
        # Pillow's errors past the header ("Truncated File Read") name no file.
        raise _read_error(path, error) from error


def _read_error(path: Path, error: BaseException) -> OSError:
    """An ``OSError`` naming ``path`` and what went wrong when reading it."""
    message = f"image {str(path)!r} cannot be read as an image: "
    if isinstance(error, OSError) and error.errno is not None:
        # OSError(errno, text) is the errno's subclass (PermissionError, ...).
        return OSError(error.errno, message + str(error.strerror))
    return OSError(message + (str(error) or type(error).__name__))


def not_an_image(value: object) -> str:
    """The message for a value that is none of the images preprocess takes."""
    hint = ""
    if hasattr(value, "__array__"):
        hint = " (np.asarray(value) converts it to a numpy array)"
    return (
        "expected a PIL image, a file path, an image tensor or a numpy array, or a "
        f"sequence of them, got {type(value).__name__}{hint}."
    )
