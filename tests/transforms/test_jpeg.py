from __future__ import annotations

import pytest
import torch
from lightly.transforms.torchvision_v2_compatibility import torchvision_transforms as T

from lightly_byel.transforms.jpeg import RandomJPEG, jpeg_round_trip


@pytest.mark.skipif(
    not hasattr(T, "JPEG"), reason="needs v2.JPEG, from torchvision 0.19 on"
)
def test_the_quality_is_drawn_as_torchvision_draws_it() -> None:
    ours, theirs = RandomJPEG((20, 80)), T.JPEG(quality=[20, 80])
    torch.manual_seed(3)
    drawn = [ours.make_params([])["quality"] for _ in range(50)]
    torch.manual_seed(3)
    expected = [theirs.make_params([])["quality"] for _ in range(50)]
    assert drawn == expected and len(set(drawn)) > 10


def test_lower_quality_loses_more_and_shapes_stay() -> None:
    torch.manual_seed(0)
    smooth = torch.linspace(0, 255, 32).round().to(torch.uint8)
    image = (smooth.view(1, 1, -1) + torch.zeros(3, 32, 1, dtype=torch.uint8)).clone()
    image[:, 8:12] = torch.randint(0, 256, (3, 4, 32), dtype=torch.uint8)
    errors = [
        (jpeg_round_trip(image, q).float() - image.float()).abs().mean()
        for q in (5, 50, 95)
    ]
    assert errors[0] > errors[1] > errors[2]
    gray = jpeg_round_trip(image[:1], 50)
    assert gray.shape == (1, 32, 32) and gray.dtype == torch.uint8


def test_bad_images_and_qualities_are_named() -> None:
    with pytest.raises(ValueError, match="uint8 image"):
        jpeg_round_trip(torch.zeros(3, 8, 8), 50)
    with pytest.raises(ValueError, match="uint8 image"):
        jpeg_round_trip(torch.zeros(2, 8, 8, dtype=torch.uint8), 50)
    with pytest.raises(ValueError, match=r"quality must lie in \[1, 100\], got 0"):
        jpeg_round_trip(torch.zeros(3, 8, 8, dtype=torch.uint8), 0)
    with pytest.raises(ValueError, match="quality must lie"):
        RandomJPEG((50, 101))
