"""JPEG re-compression of image tensors through Pillow's codec.

torchvision's JPEG functions (``torchvision.io.encode_jpeg``, ``v2.JPEG``) are
deprecated in favour of TorchCodec, which is not a dependency here; Pillow's
libjpeg codec is maintained and already one. :func:`jpeg_round_trip` serves the
per-sample :class:`RandomJPEG` and the batch transform alike.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from lightly.transforms.torchvision_v2_compatibility import torchvision_transforms as T
from lightly.utils.dependency import torchvision_transforms_v2_available
from PIL import Image
from torch import Tensor


def jpeg_round_trip(pixels: Tensor, quality: int) -> Tensor:
    """Encodes a uint8 image ``(C, H, W)`` as JPEG and decodes it again.

    Args:
        pixels: A uint8 RGB (3 channels) or grayscale (1 channel) image, on any
            device; the result comes back on the same device.
        quality: JPEG quality from 1 to 100; lower compresses more.

    Raises:
        ValueError: For another dtype, shape or quality.

    Examples:
        >>> image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
        >>> again = jpeg_round_trip(image, 50)
        >>> again.dtype, again.shape, bool((again != image).any())
        (torch.uint8, torch.Size([3, 16, 16]), True)
    """
    if (
        pixels.dtype != torch.uint8
        or pixels.dim() != 3
        or pixels.shape[0] not in (1, 3)
    ):
        raise ValueError(
            "expected a uint8 image of shape (3, H, W) or (1, H, W), got "
            f"{pixels.dtype} {tuple(pixels.shape)}."
        )
    if isinstance(quality, bool) or not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must lie in [1, 100], got {quality!r}.")
    array = pixels.permute(1, 2, 0).cpu().numpy()
    image = Image.fromarray(array[:, :, 0] if pixels.shape[0] == 1 else array)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        again = np.asarray(decoded.convert(image.mode))
    if again.ndim == 2:
        again = again[:, :, None]
    return torch.from_numpy(again.copy()).permute(2, 0, 1).to(pixels.device)


class _CallableTransform:
    """Draws the parameters, then transforms one input, as ``v2.Transform`` does.

    The base of :class:`RandomJPEG` where torchvision has no ``v2.Transform`` with
    the public ``make_params`` and ``transform`` (before 0.21; torchvision 0.11
    has no v2 at all). v1 and v2 pipelines alike call it with the image alone.
    """

    def __call__(self, inpt: Any) -> Any:
        return self.transform(inpt, self.make_params([inpt]))

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """Draws the parameters of this call."""
        raise NotImplementedError

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        """Transforms one input with the drawn parameters."""
        raise NotImplementedError

    def __repr__(self) -> str:
        # As v2.Transform shows its public settings.
        public = (f"{k}={v}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({', '.join(public)})"


_Transform: Any = (
    T.Transform
    if torchvision_transforms_v2_available() and hasattr(T.Transform, "make_params")
    else _CallableTransform
)


# _Transform is Any to the type checker, as Lightly's torchvision transforms are.
class RandomJPEG(_Transform):  # type: ignore[misc]
    """Re-compresses a uint8 image as JPEG with a quality drawn per call.

    The quality is drawn as torchvision's ``v2.JPEG`` draws it (uniform integers
    in ``[low, high]`` from torch's generator), so seeding works the same. A
    ``v2.Transform`` where torchvision has one with ``make_params`` (0.21 on),
    otherwise a plain callable that draws and re-compresses the same way.

    Args:
        quality: ``(low, high)``, within [1, 100].

    Examples:
        >>> _ = torch.manual_seed(0)
        >>> RandomJPEG((30, 90))(torch.zeros(3, 8, 8, dtype=torch.uint8)).shape
        torch.Size([3, 8, 8])
    """

    def __init__(self, quality: tuple[int, int]) -> None:
        super().__init__()
        low, high = quality
        if not 1 <= low <= high <= 100:
            raise ValueError(f"JPEG quality must lie in [1, 100], got {quality!r}.")
        self.quality = (int(low), int(high))

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        """Draws the quality of this call."""
        low, high = self.quality
        return {"quality": int(torch.randint(low, high + 1, ()).item())}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        """Re-compresses an image tensor; passes anything else through."""
        if isinstance(inpt, Tensor):
            return jpeg_round_trip(inpt, params["quality"])
        return inpt
