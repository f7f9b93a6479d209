"""The unaugmented network input of face images: resize, scale and normalise.

One preprocessing serves evaluation, both training pipelines of the benchmark and
saved models, so that a saved model predicts what its run scored.
"""

from collections.abc import Sequence

import torch
from lightly.transforms.utils import IMAGENET_NORMALIZE
from PIL import Image
from torch import Tensor
from torchvision.transforms.v2 import functional as F


def network_input(images: Tensor, input_size: int, mean: Tensor, std: Tensor) -> Tensor:
    """Network input ``(B, 3, S, S)`` of uint8 images ``(B, 3, H, W)``, unaugmented.

    Scales to [0, 1] (floating-point images are taken to be on that scale already),
    resizes with antialiasing in floating point and normalises.

    Args:
        images: ``(B, 3, H, W)``, uint8 or floating point in [0, 1].
        input_size: Side ``S`` of the square output.
        mean: Normalisation mean, broadcastable to the images (``(1, 3, 1, 1)``).
        std: Normalisation standard deviation, the same shape.

    Examples:
        >>> mean, std = torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1)
        >>> white = torch.full((1, 3, 8, 8), 255, dtype=torch.uint8)
        >>> x = network_input(white, 4, mean, std)
        >>> x.shape, float(x.max())
        (torch.Size([1, 3, 4, 4]), 1.0)
    """
    x = images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()
    if x.shape[-2:] != (input_size, input_size):
        x = F.resize(x, [input_size, input_size], antialias=True)
        x = x.clamp_(0.0, 1.0)
    return (x - mean) / std


class EvalTransform:
    """One PIL image's network input ``(3, S, S)``, as :func:`network_input` makes it.

    Args:
        input_size: Side ``S`` of the square output.
        mean: Normalisation mean of each channel, on the [0, 1] scale.
        std: Normalisation standard deviation of each channel.

    Examples:
        >>> EvalTransform(16)(Image.new("RGB", (24, 24))).shape
        torch.Size([3, 16, 16])
    """

    def __init__(
        self,
        input_size: int,
        mean: Sequence[float] = IMAGENET_NORMALIZE["mean"],
        std: Sequence[float] = IMAGENET_NORMALIZE["std"],
    ) -> None:
        self.input_size = input_size
        self.mean = torch.tensor(mean).view(1, -1, 1, 1)
        self.std = torch.tensor(std).view(1, -1, 1, 1)

    def __call__(self, image: Image.Image) -> Tensor:
        """The network input of one image, of any size and colour mode."""
        uint8 = F.pil_to_tensor(image.convert("RGB")).unsqueeze(0)
        return network_input(uint8, self.input_size, self.mean, self.std)[0]
