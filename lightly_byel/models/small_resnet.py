"""Narrow ResNets for small faces: the default encoder of the CPU benchmark.

ImageNet ResNets shrink a 48 px face to 2 x 2 pixels by their fourth stage and
spend most of their work on 512 channels; these keep torchvision's basic blocks but
start with one 3x3 convolution of stride 2 and no max-pool (a CIFAR-style stem,
one stride more for faces of 48 to 64 px) and are ``width / 64`` as wide. Named
``resnet10-w32`` (one block per stage, 32 channels in the first stage) or
``resnet18-w16`` (two blocks per stage) by
:func:`~lightly_byel.models.backbones.build_backbone` and the benchmark's
``--backbone``.
"""

import re

from torch import nn
from torchvision.models.resnet import BasicBlock

_NAME = re.compile(r"resnet(?P<depth>10|18)-w(?P<width>[1-9][0-9]*)")
_BLOCKS = {10: 1, 18: 2}


def parse_small_resnet(name: str) -> tuple[int, int] | None:
    """The depth and width a name such as ``resnet10-w32`` asks for, else ``None``.

    Examples:
        >>> parse_small_resnet("resnet10-w32"), parse_small_resnet("resnet18")
        ((10, 32), None)
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    return int(match["depth"]), int(match["width"])


def small_resnet(depth: int, width: int) -> nn.Sequential:
    """A narrow ResNet mapping images ``(B, 3, H, W)`` to features ``(B, 8 * width)``.

    Args:
        depth: 10 (one basic block per stage) or 18 (two).
        width: Channels of the stem and first stage; each later stage doubles them.

    Raises:
        ValueError: If the depth or width is not supported.

    Examples:
        >>> import torch
        >>> small_resnet(10, 8)(torch.randn(2, 3, 48, 48)).shape
        torch.Size([2, 64])
    """
    if depth not in _BLOCKS or width < 1:
        raise ValueError(
            f"small ResNets have depth 10 or 18 and a positive width, got depth "
            f"{depth} and width {width}."
        )
    layers: list[nn.Module] = [
        nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    ]
    channels = width
    for stage in range(4):
        out = width * 2**stage
        stride = 1 if stage == 0 else 2
        for block in range(_BLOCKS[depth]):
            step = stride if block == 0 else 1
            shortcut = None
            if step != 1 or channels != out:
                shortcut = nn.Sequential(
                    nn.Conv2d(channels, out, 1, stride=step, bias=False),
                    nn.BatchNorm2d(out),
                )
            layers.append(BasicBlock(channels, out, step, shortcut))
            channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers)
